import { entryHash, GENESIS_HASH } from './chain';
import type { AuditEntry, AuditVerification } from './types';

/** How many recent entries' hashes are kept to check links across a reordered stretch. */
const LINK_WINDOW = 1024;

type Head = { seq: number; hash: string };

/**
 * Checks a log entry by entry, in seq order, without holding it in memory: each stored slot must
 * hold the entry of that seq, whose hash matches its content and whose prevHash is the hash of the
 * entry before it. Then the stored head, and the head archived from an earlier verify, if given.
 */
export class ChainVerifier {
  private readonly problems: AuditVerification['problems'] = [];
  private readonly recent = new Map<number, string>();
  private entries = 0;
  private last: Head | null = null;
  private expectedFound: string | undefined;

  constructor(private readonly expectHead?: Head) {}

  /** The slot for `seq` and what it holds (null when nothing). Call for seq 1, 2, 3… in order. */
  check(seq: number, raw: string | null): void {
    this.last = null;
    if (raw === null) return this.problem(seq, `entry ${seq} is missing (deleted)`);
    const entry = parse(raw);
    if (!entry) return this.problem(seq, `entry ${seq} is not a valid audit entry`);
    this.entries++;
    if (entry.seq !== seq) {
      this.problem(seq, `entry ${entry.seq} is stored where entry ${seq} belongs (moved or reordered)`);
    }
    if (entryHash(entry) !== entry.hash) {
      this.problem(entry.seq, `entry ${entry.seq} was edited: its content does not match its hash`);
    }
    const before = entry.seq === 1 ? GENESIS_HASH : this.recent.get(entry.seq - 1);
    if (before !== undefined && entry.prevHash !== before) {
      this.problem(
        entry.seq,
        `entry ${entry.seq} does not chain to entry ${entry.seq - 1} (one of them was altered or replaced)`,
      );
    }
    this.recent.set(entry.seq, entry.hash);
    this.recent.delete(entry.seq - LINK_WINDOW);
    if (entry.seq === seq) this.last = { seq, hash: entry.hash };
    if (seq === this.expectHead?.seq) this.expectedFound = entry.hash;
  }

  /** After the last slot: `slots` is how many were checked, `head` the stored head record. */
  finish(slots: number, head: Head | null): AuditVerification {
    if (slots > 0 && !head) this.problem(slots, 'the head record is missing');
    else if (head && head.seq < slots) {
      this.problem(head.seq + 1, `the head says ${head.seq} but the log holds entries up to ${slots}`);
    } else if (head && this.last && head.hash !== this.last.hash) {
      this.problem(head.seq, `the head record does not match entry ${head.seq}`);
    }
    const expected = this.expectHead;
    if (expected && expected.seq > slots) {
      this.problem(
        expected.seq,
        `the log ends at ${slots} but an earlier head was ${expected.seq}: entries were cut off`,
      );
    } else if (expected && expected.seq > 0 && this.expectedFound !== expected.hash) {
      this.problem(expected.seq, `entry ${expected.seq} differs from the archived head`);
    }
    this.problems.sort((a, b) => a.seq - b.seq);
    return {
      ok: this.problems.length === 0,
      entries: this.entries,
      head: this.last ?? (head && head.seq > 0 ? head : null),
      problems: this.problems,
    };
  }

  private problem(seq: number, problem: string): void {
    this.problems.push({ seq, problem });
  }
}

function parse(raw: string): AuditEntry | undefined {
  try {
    const entry = JSON.parse(raw) as AuditEntry;
    const valid =
      typeof entry === 'object' &&
      entry !== null &&
      Number.isInteger(entry.seq) &&
      typeof entry.hash === 'string' &&
      typeof entry.prevHash === 'string';
    return valid ? entry : undefined;
  } catch {
    return undefined;
  }
}
