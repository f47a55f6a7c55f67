import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

/*
 * Loaded into app processes with `node --require` (through NODE_OPTIONS, which refuses
 * --cpu-prof) when the bench runs with BENCH_CPU_PROF=dir. SIGUSR2 starts the V8 CPU profiler
 * of the main thread; the next SIGUSR2 stops it and writes `<dir>/<label>-<roles>.cpuprofile`,
 * where the bench put the label (the phase) in `<dir>/.label`. So a profile covers one phase, of
 * the main thread only.
 */

const dir = process.env.BENCH_CPU_PROF_DIR;
// Worker threads (the Temporal worker runs workflows in one) load preloads too: leave them alone.
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return void process.stderr.write(`cpu profile failed: ${err.message}\n`);
      const label = readFileSync(path.join(dir, '.label'), 'utf8').trim();
      const roles = (process.env.TOUCHPOINT_ROLES ?? 'all').replace(/,/g, '+');
      writeFileSync(path.join(dir, `${label}-${roles}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
