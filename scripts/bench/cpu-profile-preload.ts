import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

/*
 * Loaded into app processes with `node --require` (through NODE_OPTIONS, which refuses
 * --cpu-prof) when the bench runs with BENCH_CPU_PROF=dir. The bench writes a phase name into
 * `<dir>/.phase` to start the V8 CPU profiler of the main thread and empties it to stop; the
 * profile goes to `<dir>/<phase>-<roles>.cpuprofile`. (A file, not a signal: with a SIGUSR2 handler
 * installed, the Temporal worker in the same process took no tasks in our runs.)
 */

const dir = process.env.BENCH_CPU_PROF_DIR;
// Worker threads (the Temporal worker runs workflows in one) load preloads too: leave them alone.
if (dir && isMainThread) {
  const session = new Session();
  session.connect();
  const roles = (process.env.TOUCHPOINT_ROLES ?? 'all').replace(/,/g, '+');
  let current = '';
  const write = (phase: string) =>
    // An in-thread inspector session answers synchronously, so this also works in an 'exit' handler.
    session.post('Profiler.stop', (err, result) => {
      if (err) return void process.stderr.write(`cpu profile failed: ${err.message}\n`);
      writeFileSync(path.join(dir, `${phase}-${roles}.cpuprofile`), JSON.stringify(result.profile));
    });
  // A process stopped while its phase is still being profiled writes it on the way out.
  process.on('exit', () => current && write(current));
  setInterval(() => {
    let wanted = '';
    try {
      wanted = readFileSync(path.join(dir, '.phase'), 'utf8').trim();
    } catch {
      // no file: not profiling
    }
    if (wanted === current) return;
    const finished = current;
    current = wanted;
    if (finished) write(finished);
    if (wanted) session.post('Profiler.enable', () => session.post('Profiler.start'));
  }, 200).unref();
}
