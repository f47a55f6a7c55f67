import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../config/settings';

/** A broken journey stops start-up before any server is started, with file, line and step id. */
test('an invalid journey file stops start-up with file, line, column and step id', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-bad-journeys-'));
  const dataDir = path.join(dir, 'data');
  await writeFile(
    path.join(dir, 'welcome.yaml'),
    [
      'id: welcome',
      'name: Welcome',
      'version: 1',
      'entry: { event: signed_up }',
      'steps:',
      '  - id: greet',
      '    type: send',
      '    channel: sms',
      '    template: no-such-template',
      '  - id: pause',
      '    type: wait',
      '    duration: 3 fortnights',
      '',
    ].join('\n'),
  );
  const result = spawnSync(process.execPath, [path.join(projectRoot, 'dist/main/index.js')], {
    env: { ...process.env, TOUCHPOINT_JOURNEYS_DIR: dir, TOUCHPOINT_DATA_DIR: dataDir, PORT: '0' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.status).toBe(1);
  const file = path.join(dir, 'welcome.yaml');
  expect(result.stderr).toMatch(new RegExp(`${escape(file)}:9:\\d+ \\[step greet\\].*no-such-template`));
  expect(result.stderr).toMatch(
    new RegExp(`${escape(file)}:12:\\d+ \\[step pause\\] steps\\[1\\]\\.duration`),
  );
  // Nothing was started or written.
  expect(existsSync(dataDir)).toBe(false);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
