import { SingleBar } from 'cli-progress';

/** Where an import stands: bytes read of the file (for the ETA), rows read, accepted, rejected. */
export interface ProgressState {
  bytes: number;
  rows: number;
  accepted: number;
  rejected: number;
  /** The latest retry, while the server is not answering (shown until the next batch goes through). */
  note?: string;
}

export interface ImportProgress {
  start(totalBytes: number, state: ProgressState): void;
  update(state: ProgressState): void;
  stop(state: ProgressState): void;
}

/** Rows per second since start, and the ETA from bytes still to read at the bytes-per-second rate. */
class Rates {
  private startedAt = Date.now();
  private startBytes = 0;
  private startRows = 0;
  total = 0;

  begin(total: number, state: ProgressState): void {
    this.startedAt = Date.now();
    this.startBytes = state.bytes;
    this.startRows = state.rows;
    this.total = total;
  }

  of(state: ProgressState): { rowsPerSec: number; etaS: number | undefined; percent: number } {
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    const bytesPerSec = (state.bytes - this.startBytes) / seconds;
    const remaining = Math.max(0, this.total - state.bytes);
    return {
      rowsPerSec: (state.rows - this.startRows) / seconds,
      etaS: bytesPerSec > 0 ? remaining / bytesPerSec : undefined,
      percent: this.total > 0 ? (100 * state.bytes) / this.total : 100,
    };
  }
}

/** A progress bar on a terminal (cli-progress): percentage of the file, rows, rate, ETA, rejects. */
export class BarProgress implements ImportProgress {
  private readonly bar: SingleBar;
  private readonly rates = new Rates();

  constructor(stream: NodeJS.WritableStream = process.stderr) {
    this.bar = new SingleBar({
      stream,
      format:
        '{bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {left} | {accepted} accepted, {rejected} rejected {note}',
      barsize: 30,
      hideCursor: true,
      fps: 5,
    });
  }

  start(totalBytes: number, state: ProgressState): void {
    this.rates.begin(totalBytes, state);
    this.bar.start(Math.max(1, totalBytes), state.bytes, this.payload(state));
  }

  update(state: ProgressState): void {
    this.bar.update(state.bytes, this.payload(state));
  }

  stop(state: ProgressState): void {
    this.bar.update(state.bytes, this.payload(state));
    this.bar.stop();
  }

  private payload(state: ProgressState) {
    const { rowsPerSec, etaS } = this.rates.of(state);
    return {
      rows: state.rows.toLocaleString('en-US'),
      rate: Math.round(rowsPerSec).toLocaleString('en-US'),
      left: duration(etaS),
      accepted: state.accepted.toLocaleString('en-US'),
      rejected: state.rejected.toLocaleString('en-US'),
      note: state.note ? `| ${state.note}` : '',
    };
  }
}

/** Plain lines every `intervalMs` (logs, CI, a pipe): the same figures as the bar. */
export class LineProgress implements ImportProgress {
  private readonly rates = new Rates();
  private last = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly intervalMs = 5000,
  ) {}

  start(totalBytes: number, state: ProgressState): void {
    this.rates.begin(totalBytes, state);
    this.last = Date.now();
  }

  update(state: ProgressState): void {
    if (Date.now() - this.last < this.intervalMs) return;
    this.last = Date.now();
    this.write(this.line(state));
  }

  stop(): void {}

  line(state: ProgressState): string {
    const { rowsPerSec, etaS, percent } = this.rates.of(state);
    return (
      `import: ${state.rows} rows (${percent.toFixed(1)} % of the file), ${Math.round(rowsPerSec)} rows/s, ` +
      `${state.accepted} accepted, ${state.rejected} rejected, ETA ${duration(etaS)}` +
      `${state.note ? `; ${state.note}` : ''}\n`
    );
  }
}

/** Nothing (tests that do not look at progress). */
export const noProgress: ImportProgress = { start() {}, update() {}, stop() {} };

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
