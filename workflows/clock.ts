/**
 * The run's clock: workflow time (deterministic on replay) plus the simulation's offset, so a
 * scenario that "starts" on 2026-03-01 computes wake-ups, coupon expiries and conversion windows
 * in its own calendar. Timers stay durations: only the reading of the clock is shifted.
 */
export class RunClock {
  constructor(readonly offsetMs = 0) {}

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  iso(ms: number = this.nowMs()): string {
    return new Date(ms).toISOString();
  }
}
