import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TemplateCatalog } from '../../language/catalog';
import { JourneyConfigError, type ConfigIssue } from '../../language/errors';
import { checkJourney, loadJourneyFile, loadJourneys } from '../../language/load';
import { loadTemplates } from '../../messages/templates';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-journeys-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a fixture; lines are joined with \n so line numbers in the tests are easy to count. */
function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The issues a load throws (fails the test when it does not throw). */
function issuesOf(load: () => unknown): ConfigIssue[] {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(JourneyConfigError);
    return (err as JourneyConfigError).issues;
  }
  throw new Error('expected the load to fail');
}

const HEADER = (id: string) => [
  `id: ${id}`,
  `name: ${id}`,
  'version: 1',
  'entry:',
  '  event: content_viewed',
  'steps:',
];

describe('loadJourneyFile', () => {
  it('compiles a journey: durations in ms, exit as a list, default locale', () => {
    const file = write('ok.yaml', [
      ...HEADER('ok'), //                       lines 1-6
      '  - id: pause',
      '    type: wait',
      '    duration: 1d12h',
      '  - id: wait-order',
      '    type: waitFor',
      '    event: order_completed',
      '    where: { property: total, gte: 100 }',
      '    timeout: PT72H',
      '    onTimeout: done',
      '  - id: done',
      '    type: exit',
    ]);
    fs.appendFileSync(file, 'exit: { event: unsubscribed }\n');
    expect(loadJourneyFile(file)).toEqual({
      id: 'ok',
      name: 'ok',
      version: 1,
      defaultLocale: 'zh-CN',
      entry: { event: 'content_viewed', reentry: { mode: 'always' } },
      exit: [{ event: 'unsubscribed' }],
      steps: [
        { id: 'pause', type: 'wait', durationMs: 36 * 3600_000 },
        {
          id: 'wait-order',
          type: 'waitFor',
          event: 'order_completed',
          where: { property: 'total', gte: 100 },
          timeoutMs: 72 * 3600_000,
          onTimeout: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    });
  });

  it('reports an unknown key with a "did you mean" hint, at the key, with the step id', () => {
    const file = write('typo.yaml', [
      ...HEADER('typo'),
      '  - id: wait-order', //                  line 7
      '    type: waitFor',
      '    event: order_completed',
      '    tiemout: 72h', //                    line 10
    ]);
    const issues = issuesOf(() => loadJourneyFile(file));
    expect(issues).toEqual([
      {
        file,
        line: 7,
        column: 5,
        stepId: 'wait-order',
        path: 'steps[0].timeout',
        message: 'is required',
        hint: 'e.g. `30m`, `2h`, `7d` or `PT2H`',
      },
      {
        file,
        line: 10,
        column: 5,
        stepId: 'wait-order',
        path: 'steps[0].tiemout',
        message: 'unknown key `tiemout`',
        hint: 'did you mean `timeout`?',
      },
    ]);
  });

  it('formats every issue as file:line:column [step id] path: message (hint)', () => {
    const file = write('typo.yaml', [
      ...HEADER('typo'),
      '  - id: wait-order',
      '    type: waitFor',
      '    event: e',
      '    tiemout: 72h',
    ]);
    expect(() => loadJourneyFile(file)).toThrow(
      [
        'journey config has 2 problems:',
        `  ${file}:7:5 [step wait-order] steps[0].timeout: is required (e.g. \`30m\`, \`2h\`, \`7d\` or \`PT2H\`)`,
        `  ${file}:10:5 [step wait-order] steps[0].tiemout: unknown key \`tiemout\` (did you mean \`timeout\`?)`,
      ].join('\n'),
    );
  });

  it('reports bad durations at their keys', () => {
    const file = write('durations.yaml', [
      ...HEADER('durations'),
      '  - id: a',
      '    type: wait',
      '    duration: 2 hours', //               line 9
      '  - id: b',
      '    type: wait',
      '    duration: 90', //                    line 12
      '  - id: c',
      '    type: waitFor',
      '    event: order_completed',
      '    timeout: 0s', //                     line 16
      '  - id: d',
      '    type: wait',
      '    duration: P1M', //                   line 19
    ]);
    const issues = issuesOf(() => loadJourneyFile(file));
    expect(issues.map(({ line, column, stepId, path: p }) => ({ line, column, stepId, path: p }))).toEqual([
      { line: 9, column: 5, stepId: 'a', path: 'steps[0].duration' },
      { line: 12, column: 5, stepId: 'b', path: 'steps[1].duration' },
      { line: 16, column: 5, stepId: 'c', path: 'steps[2].timeout' },
      { line: 19, column: 5, stepId: 'd', path: 'steps[3].duration' },
    ]);
    expect(issues[0]!.message).toMatch(/"2 hours" is not a duration/);
    expect(issues[1]!.message).toBe('90 has no unit');
    expect(issues[1]!.hint).toMatch(/`90m`/);
    expect(issues[2]!.message).toBe('duration "0s" must be longer than zero');
    expect(issues[3]!.message).toMatch(/years or months/);
  });

  it('reports step references that go nowhere, with the closest id as a hint', () => {
    const file = write('dangling.yaml', [
      ...HEADER('dangling'),
      '  - id: check',
      '    type: branch',
      '    branches:',
      '      - when: { trait: tier, eq: gold }',
      '        goto: vip-offer', //              line 11
      '    else: nowhere', //                    line 12
      '  - id: vip-offers',
      '    type: exit',
      '    next: check', //                      line 15
    ]);
    const issues = issuesOf(() => loadJourneyFile(file));
    expect(issues).toEqual([
      {
        file,
        line: 11,
        column: 9,
        stepId: 'check',
        path: 'steps[0].branches[0].goto',
        message: 'no step has the id `vip-offer`',
        hint: 'did you mean `vip-offers`?',
      },
      {
        file,
        line: 12,
        column: 5,
        stepId: 'check',
        path: 'steps[0].else',
        message: 'no step has the id `nowhere`',
        hint: 'expected one of `check`, `vip-offers`',
      },
      expect.objectContaining({ line: 15, column: 5, stepId: 'vip-offers', path: 'steps[1].next' }),
    ]);
  });

  it('reports a duplicate step id at the second use', () => {
    const file = write('dupes.yaml', [
      ...HEADER('dupes'),
      '  - id: send-it',
      '    type: send',
      '    channel: sms',
      '    template: hello',
      '  - id: send-it', //                     line 11
      '    type: exit',
    ]);
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      {
        file,
        line: 11,
        column: 5,
        stepId: 'send-it',
        path: 'steps[1].id',
        message: 'duplicate step id `send-it` (also steps[0])',
      },
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const file = write('broken.yaml', ['id: broken', 'name: Browse intent: living room', 'version: 1']);
    const tabs = write('tabs.yaml', ['id: tabs', 'steps:', '  - id: a', '\ttype: wait']);
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      {
        file,
        line: 2,
        column: 7,
        path: '',
        message: 'YAML syntax: Nested mappings are not allowed in compact mappings',
        hint: 'put text containing `: ` in quotes',
      },
    ]);
    expect(issuesOf(() => loadJourneyFile(tabs))).toEqual([
      expect.objectContaining({
        line: 4,
        column: 1,
        message: 'YAML syntax: Tabs are not allowed as indentation',
      }),
    ]);
  });

  it('reports duplicate keys as YAML errors', () => {
    const file = write('dupkey.yaml', ['id: dupkey', 'name: a', 'name: b']);
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      {
        file,
        line: 3,
        column: 1,
        path: '',
        message: 'YAML syntax: Map keys must be unique',
        hint: 'each key may appear once per mapping',
      },
    ]);
  });

  it('requires the file name to match the id', () => {
    const file = write('browse.yaml', HEADER('browse-intent').concat('  - { id: done, type: exit }'));
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      {
        file,
        line: 1,
        column: 1,
        path: 'id',
        message: 'id `browse-intent` does not match the file name `browse.yaml`',
        hint: 'rename the file to `browse-intent.yaml` or change the id',
      },
    ]);
  });

  it('reports a missing template for the default locale and en, naming the expected file', () => {
    const catalog: TemplateCatalog = {
      has: (channel, name, locale) => channel === 'sms' && name === 'hello' && locale === 'zh-CN',
      fileFor: (channel, name, locale) => `templates/${channel}/${name}.${locale}.hbs`,
    };
    const file = write('greet.yaml', [
      ...HEADER('greet'),
      '  - id: hello-sms',
      '    type: send',
      '    channel: sms',
      '    template: hello', //                  line 10
      '  - id: hello-push',
      '    type: send',
      '    channel: push',
      '    template: hello', //                  line 14
      '    locale: ja',
    ]);
    const issues = issuesOf(() => loadJourneyFile(file, { templates: catalog }));
    expect(issues.map((i) => [i.line, i.column, i.stepId, i.message])).toEqual([
      [10, 5, 'hello-sms', 'template `hello` for sms has no en version: expected templates/sms/hello.en.hbs'],
      [
        14,
        5,
        'hello-push',
        'template `hello` for push has no zh-CN version: expected templates/push/hello.zh-CN.hbs',
      ],
      [
        14,
        5,
        'hello-push',
        'template `hello` for push has no en version: expected templates/push/hello.en.hbs',
      ],
      [
        14,
        5,
        'hello-push',
        'template `hello` for push has no ja version: expected templates/push/hello.ja.hbs',
      ],
    ]);
  });

  it('names the expected file under the real template store', () => {
    const templatesDir = path.join(dir, 'templates');
    fs.mkdirSync(path.join(templatesDir, 'sms'), { recursive: true });
    fs.writeFileSync(path.join(templatesDir, 'sms', 'hello.zh-CN.hbs'), '你好');
    const file = write('greet.yaml', [
      ...HEADER('greet'),
      '  - { id: hi, type: send, channel: sms, template: hello }',
    ]);
    expect(issuesOf(() => loadJourneyFile(file, { templates: loadTemplates(templatesDir) }))).toEqual([
      {
        file,
        line: 7,
        column: 41,
        stepId: 'hi',
        path: 'steps[0].template',
        message: `template \`hello\` for sms has no en version: expected ${path.join(templatesDir, 'sms', 'hello.en.hbs')}`,
        hint: "every template needs the journey's default locale (zh-CN) and `en`",
      },
    ]);
  });

  it('checks conditions: unknown operators, prototype paths, mixed forms, null', () => {
    const file = write('conds.yaml', [
      'id: conds',
      'name: Conditions',
      'version: 1',
      'entry:',
      '  event: content_viewed',
      '  where:',
      '    all:',
      '      - { property: category, eqq: sofa }', //          line 8
      '      - { property: __proto__.polluted, exists: true }', // line 9
      '      - { trait: tier, any: [] }', //                    line 10
      '      - { trait: email, eq: null }', //                  line 11
      '      - { trait: vip }', //                              line 12
      'steps:',
      '  - { id: done, type: exit }',
    ]);
    const issues = issuesOf(() => loadJourneyFile(file));
    expect(issues.map((i) => [i.line, i.path, i.message, i.hint])).toEqual([
      [8, 'entry.where.all[0].eqq', 'unknown key `eqq`', 'did you mean `eq`?'],
      [9, 'entry.where.all[1].property', expect.stringMatching(/__proto__/), undefined],
      [
        10,
        'entry.where.all[2]',
        'mixes `any`, `trait` in one condition',
        expect.stringMatching(/either a comparison/),
      ],
      [10, 'entry.where.all[2].any', 'must list at least one condition', undefined],
      [
        11,
        'entry.where.all[3].eq',
        'null never matches a value',
        'use `exists: false` to match a missing value',
      ],
      [12, 'entry.where.all[4]', 'a comparison needs an operator', expect.stringMatching(/add one of `eq`/)],
    ]);
  });

  it('hints at near-miss step types and channels', () => {
    const file = write('types.yaml', [
      ...HEADER('types'),
      '  - id: a',
      '    type: waitfor', //                   line 8
      '  - id: b',
      '    type: send',
      '    channel: wechat', //                 line 11
      '    template: hi',
      '  - id: c',
      '    type: send',
      '    channel: emial', //                  line 15
      '    template: hi',
    ]);
    const issues = issuesOf(() => loadJourneyFile(file));
    expect(issues.map((i) => [i.line, i.column, i.path, i.message, i.hint])).toEqual([
      [8, 5, 'steps[0].type', 'unknown step type `waitfor`', 'did you mean `waitFor`?'],
      [11, 5, 'steps[1].channel', expect.stringMatching(/^"wechat" is not one of `sms`/), undefined],
      [15, 5, 'steps[2].channel', expect.stringMatching(/^"emial" is not one of/), 'did you mean `email`?'],
    ]);
  });

  it('refuses a __proto__ key, which YAML turns into an own property', () => {
    const file = write('proto.yaml', [
      ...HEADER('proto'),
      '  - { id: done, type: exit }',
      '__proto__: { polluted: 1 }',
    ]);
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      { file, line: 8, column: 1, path: '__proto__', message: 'the key `__proto__` is not allowed' },
    ]);
  });

  it('reports an empty file and a file that is not a mapping', () => {
    expect(checkJourney('', 'empty.yaml').issues[0]).toMatchObject({ line: 1, message: 'the file is empty' });
    expect(checkJourney('- 1\n', 'list.yaml').issues[0]!.message).toMatch(/must be a mapping/);
  });

  it('loads JSON with line numbers too', () => {
    const file = path.join(dir, 'json-one.json');
    const json = {
      id: 'json-one',
      name: 'JSON',
      version: 1,
      entry: { event: 'e' },
      steps: [{ id: 'w', type: 'wait', duration: '1x' }],
    };
    fs.writeFileSync(file, JSON.stringify(json, null, 2));
    expect(issuesOf(() => loadJourneyFile(file))).toEqual([
      expect.objectContaining({ line: 12, column: 7, stepId: 'w', path: 'steps[0].duration' }),
    ]);
  });
});

describe('loadJourneys', () => {
  it('reports every problem across all files in one error', () => {
    const first = write('first.yaml', [
      ...HEADER('first'),
      '  - id: wait',
      '    type: wait',
      '    duration: soon', //                  line 9
      '    next: nowhere', //                   line 10
    ]);
    const second = write('second.yml', [
      'id: second',
      'name: Second',
      'version: 0', //                           line 3
      'entry: { event: e }',
      'steps:',
      '  - { id: done, type: exit, colour: red }', // line 6
    ]);
    write('notes.txt', ['not a journey']);
    let error: JourneyConfigError | undefined;
    try {
      loadJourneys(dir);
    } catch (err) {
      error = err as JourneyConfigError;
    }
    expect(error).toBeInstanceOf(JourneyConfigError);
    expect(error!.issues.map((i) => [path.basename(i.file), i.line, i.column, i.path])).toEqual([
      ['first.yaml', 9, 5, 'steps[0].duration'],
      ['first.yaml', 10, 5, 'steps[0].next'],
      ['second.yml', 3, 1, 'version'],
      ['second.yml', 6, 29, 'steps[0].colour'],
    ]);
    const lines = error!.message.split('\n');
    expect(lines[0]).toBe('journey config has 4 problems:');
    expect(lines[1]).toMatch(new RegExp(`^  ${escape(first)}:9:5 \\[step wait\\] steps\\[0\\]\\.duration: `));
    expect(lines[3]).toBe(`  ${second}:3:1 version: must be greater than 0`);
    expect(lines[4]).toBe(
      `  ${second}:6:29 [step done] steps[0].colour: unknown key \`colour\` (expected one of \`id\`, \`next\`, \`type\`)`,
    );
  });

  it('reports a journey id defined by two files', () => {
    write('twice.yaml', [...HEADER('twice'), '  - { id: done, type: exit }']);
    const yml = write('twice.yml', [...HEADER('twice'), '  - { id: done, type: exit }']);
    expect(issuesOf(() => loadJourneys(dir))).toEqual([
      {
        file: yml,
        line: 1,
        column: 1,
        path: 'id',
        message: `journey id \`twice\` is also used by ${path.join(dir, 'twice.yaml')}`,
      },
    ]);
  });

  it('returns the journeys sorted by file name', () => {
    write('b-journey.yaml', [...HEADER('b-journey'), '  - { id: done, type: exit }']);
    write(
      'a-journey.json',
      JSON.stringify({
        id: 'a-journey',
        name: 'A',
        version: 2,
        entry: { event: 'e' },
        steps: [{ id: 'x', type: 'exit' }],
      }).split('\n'),
    );
    expect(loadJourneys(dir).map((j) => [j.id, j.version])).toEqual([
      ['a-journey', 2],
      ['b-journey', 1],
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

it('refuses documents that expand aliases without bound', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) {
    const prev = String.fromCharCode(97 + i);
    const next = String.fromCharCode(98 + i);
    bomb.push(
      `${next}: &${next} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
    );
  }
  const issues = checkJourney(bomb.join('\n'), 'bomb.yaml').issues;
  expect(issues).toEqual([
    expect.objectContaining({ line: 1, message: expect.stringMatching(/^YAML: .*alias/i) }),
  ]);
});
