import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { projectRoot } from '../../config/settings';
import { parseDuration } from '../../language/duration';

/**
 * The shipped journeys with time compressed: every `duration` and `timeout` multiplied by
 * `scale` (at least `minMs`), written to a temp dir to use as TOUCHPOINT_JOURNEYS_DIR. Benchmarks
 * and drills run the real journeys, steps and templates, in seconds instead of days.
 */
export async function fastJourneys(
  scale: number,
  minMs = 200,
  from = path.join(projectRoot, 'journeys'),
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-fast-journeys-'));
  for (const name of await readdir(from)) {
    if (!/\.ya?ml$/.test(name)) continue;
    const doc = parseDocument(await readFile(path.join(from, name), 'utf8'));
    const steps = doc.get('steps');
    if (isSeq(steps)) {
      for (const step of steps.items) {
        if (!isMap(step)) continue;
        for (const key of ['duration', 'timeout']) {
          const value = step.get(key);
          if (typeof value === 'string')
            step.set(key, `${Math.max(minMs, Math.round(parseDuration(value) * scale)) / 1000}s`);
        }
      }
    }
    await writeFile(path.join(dir, name), doc.toString());
  }
  return dir;
}
