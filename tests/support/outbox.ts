import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OutboxLine } from '../../delivery/providers/outbox';

/** The lines the outbox provider wrote for one channel under `dir` (none yet: empty). */
export async function outboxLines(dir: string, channel: string): Promise<OutboxLine[]> {
  try {
    const text = await readFile(path.join(dir, `${channel}.jsonl`), 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as OutboxLine);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
