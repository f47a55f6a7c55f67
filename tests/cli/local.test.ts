import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testRedisUrl } from '../support/redis';
import { cli, SIM, TEMPLATES } from './support';

/* The commands that work on files: validate, graph, simulate (its run on the time-skipping server). */

const WELCOME = `${SIM}/journeys/sim-welcome.yaml`;
const BROKEN = 'tests/fixtures/cli/broken.yaml';

describe('touchpoint validate', () => {
  test('a valid journey: exit 0 and one ok line per file', async () => {
    const run = await cli([
      'validate',
      WELCOME,
      `${SIM}/journeys/sim-morning.yaml`,
      '--templates',
      TEMPLATES,
    ]);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`${WELCOME}: ok (sim-welcome, 5 steps)`);
    expect(run.out).toContain(`${SIM}/journeys/sim-morning.yaml: ok (sim-morning, 2 steps)`);
    expect(run.out).toMatch(/0 errors, \d+ warnings? in 2 files\n$/);
  });

  test('every error with file:line:column, step id, path and hint; exit 1', async () => {
    const run = await cli(['validate', BROKEN, '--templates', TEMPLATES]);
    expect(run.code).toBe(1);
    const errors = run.out.split('\n').filter((line) => line.includes(': error: '));
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const line of errors) expect(line).toMatch(/^tests\/fixtures\/cli\/broken\.yaml:\d+:\d+: error: /);
    // The duration on line 15, the unknown step on line 16, the missing template on line 11.
    expect(run.out).toMatch(/broken\.yaml:15:\d+: error: \[step wait-order\] steps\[1\]\.timeout: /);
    expect(run.out).toMatch(
      /broken\.yaml:16:\d+: error: \[step wait-order\] steps\[1\]\.onTimeout: .*nowhere/,
    );
    expect(run.out).toMatch(
      /broken\.yaml:11:\d+: error: \[step hello\] steps\[0\]\.template: .*no-such-template/,
    );
    expect(run.out).toMatch(/\n {4}hint: /);
    expect(run.out).toMatch(/\d+ errors, \d+ warnings? in 1 file\n$/);
  });

  test('--json: the same, as data', async () => {
    const run = await cli(['validate', WELCOME, BROKEN, '--templates', TEMPLATES, '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out);
    expect(report.valid).toBe(false);
    expect(report.files).toEqual([
      expect.objectContaining({ file: WELCOME, valid: true, id: 'sim-welcome', issues: [] }),
      expect.objectContaining({ file: BROKEN, valid: false }),
    ]);
    expect(report.files[1].issues).toContainEqual(
      expect.objectContaining({ file: BROKEN, line: 16, stepId: 'wait-order', path: 'steps[1].onTimeout' }),
    );
    expect(report.errors).toBe(report.files[1].issues.length);
  });

  test('a file that is not there is an error, not a crash', async () => {
    const run = await cli(['validate', 'no/such/journey.yaml', '--templates', TEMPLATES]);
    expect(run.code).toBe(1);
    expect(run.out).toContain('no/such/journey.yaml:1:1: error: cannot read the file: no such file');
  });

  test('usage errors exit non-zero with help', async () => {
    const run = await cli(['validate']);
    expect(run.code).not.toBe(0);
    expect(run.err).toContain("missing required argument 'file'");
  });
});

describe('touchpoint graph', () => {
  test('prints a Mermaid flowchart of the journey', async () => {
    const run = await cli(['graph', WELCOME, '--templates', TEMPLATES]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^flowchart TD\n/);
    expect(run.out).toContain('wait-order · waitFor');
    expect(run.out).toContain('|"event order_completed"|');
    expect(run.out).toContain('|"timeout 3d"|');
    expect(run.out).toContain('welcome: 50 CNY');
  });

  test('-o writes a file; --markdown fences it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-graph-'));
    const file = path.join(dir, 'welcome.md');
    const run = await cli(['graph', WELCOME, '--templates', TEMPLATES, '--markdown', '-o', file]);
    expect(run.code).toBe(0);
    expect(run.out).toBe('');
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^```mermaid\nflowchart TD\n[\s\S]*```\n$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an invalid journey: its errors, exit 1', async () => {
    const run = await cli(['graph', BROKEN, '--templates', TEMPLATES]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatch(/broken\.yaml:16:\d+: error: /);
    expect(run.err).toContain('run `touchpoint validate tests/fixtures/cli/broken.yaml`');
  });
});

describe('touchpoint simulate', () => {
  test('end to end: the scenario on the real workflow, the timeline as JSON on stdout', async () => {
    const run = await cli(
      ['simulate', WELCOME, '--scenario', `${SIM}/scenarios/welcome-converts.json`, '--templates', TEMPLATES],
      { REDIS_URL: testRedisUrl(), TEMPORAL_TEST_SERVER: process.env.TEMPORAL_TEST_SERVER },
    );
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out);
    expect(result).toMatchObject({ journey: 'sim-welcome', version: 1, outcome: 'converted' });
    const kinds = result.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(['event', 'enter', 'coupon', 'send', 'wait', 'event', 'exit']);
    const send = result.timeline.find((e: { kind: string }) => e.kind === 'send');
    expect(send).toMatchObject({ channel: 'sms', template: 'sim-welcome', locale: 'en', status: 'sent' });
    expect(send.body).toContain('Hi Li, welcome!');
  }, 180_000);

  test('a bad scenario: every problem with its path, before anything starts', async () => {
    const run = await cli([
      'simulate',
      WELCOME,
      '--scenario',
      `${SIM}/scenarios/bad.json`,
      '--templates',
      TEMPLATES,
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain('customer.id:');
    expect(run.err).toContain('events[1]: needs one of `event`');
    expect(run.out).toBe('');
  });

  test('a journey that does not exist', async () => {
    const run = await cli([
      'simulate',
      'no/such.yaml',
      '--scenario',
      `${SIM}/scenarios/welcome-converts.json`,
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain('no/such.yaml: no such journey file');
  });
});
