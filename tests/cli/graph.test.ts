import { conditionSummary, toMermaid } from '../../language/graph';
import type { Journey } from '../../language/types';

const H = 3_600_000;
const D = 24 * H;

/** Every kind of step, every way out of one. */
const JOURNEY: Journey = {
  id: 'pregnancy-care',
  name: 'Pregnancy "care"',
  version: 3,
  defaultLocale: 'zh-CN',
  entry: {
    traitChanged: 'dueDate',
    where: { trait: 'dueDate', exists: true },
    reentry: { mode: 'after', cooldownMs: 30 * D },
    limit: 5000,
  },
  exit: [{ event: 'order_completed', where: { property: 'category', in: ['sofa', 'bed'] } }],
  conversionWindowMs: 7 * D,
  holdback: 10,
  quietHours: { start: '21:00', end: '09:00', action: 'delay' },
  steps: [
    { id: 'w1', type: 'wait', durationMs: 2 * H },
    {
      id: 'w2',
      type: 'wait',
      until: { trait: 'dueDate', offsetMs: -30 * D, time: '10:00' },
      onMissing: 'done',
    },
    { id: 'w3', type: 'wait', until: { weekday: ['mon', 'thu'], time: '10:00' } },
    {
      id: 'wf',
      type: 'waitFor',
      event: 'message_opened',
      where: { property: 'stepId', eq: 'w1' },
      timeoutMs: 7 * D,
      onEvent: 'b1',
      onTimeout: 'ab',
    },
    {
      id: 'b1',
      type: 'branch',
      branches: [
        { when: { tag: 'vip' }, goto: 't1' },
        { when: { did: 'message_clicked', step: 'send-a' }, goto: 'st' },
        {
          when: {
            all: [{ trait: 'rfm', in: ['dormant', 'at-risk'] }, { not: { property: 'total', lt: 100 } }],
          },
          goto: 'wh',
        },
      ],
      else: 'done',
    },
    {
      id: 'ab',
      type: 'split',
      arms: [
        { name: 'A', percent: 50, goto: 'send-a' },
        { name: 'B', percent: 50, goto: 'c1' },
      ],
    },
    { id: 'send-a', type: 'send', channel: 'sms', template: 'trial', transactional: true, next: 'loop' },
    { id: 'c1', type: 'issueCoupon', campaign: 'baby', value: 50, currency: 'CNY', expiresInMs: 14 * D },
    { id: 't1', type: 'tag', tags: ['pregnant', 'vip<3'] },
    {
      id: 'st',
      type: 'setTrait',
      traits: { stage: 'newborn', since: { now: '' }, size: { property: 'size' } },
    },
    {
      id: 'wh',
      type: 'webhook',
      target: 'supply-chain',
      body: { sku: { property: 'sku' } },
      attempts: 5,
      onFailure: 'n1',
    },
    { id: 'n1', type: 'notify', target: 'service-team', template: 'complaint-alert' },
    { id: 'loop', type: 'goto', to: 'w3', maxIterations: 40 },
    { id: 'done', type: 'exit' },
  ],
};

describe('toMermaid', () => {
  const chart = toMermaid(JOURNEY);
  const lines = chart.split('\n');

  test('a flowchart with the entry, one node per step and the goals', () => {
    expect(lines[0]).toBe('flowchart TD');
    expect(chart).toContain(
      'entry(["Pregnancy #quot;care#quot; (pregnancy-care v3)<br/>Entry: trait dueDate changed<br/>where dueDate exists<br/>' +
        're-entry after 30d, limit 5000<br/>holdback 10%<br/>quiet hours 21:00–09:00 (delay)"])',
    );
    expect(lines).toContain('  entry --> s0');
    expect(chart).toContain(
      'goals>"Exit goals (any time)<br/>order_completed where event.category in [sofa, bed]<br/>counts within 7d of entry"]',
    );
    expect(lines).toContain('  goals -.-> converted');
    // Node ids are generated: step ids with hyphens never reach Mermaid's syntax.
    expect(chart).not.toMatch(/^\s+send-a[[({]/m);
  });

  test('each step: id, type and its essential detail, shaped by kind', () => {
    expect(lines).toContain('  s0{{"w1 · wait<br/>2h"}}');
    expect(lines).toContain('  s1{{"w2 · wait<br/>until dueDate -30d 10:00"}}');
    expect(lines).toContain('  s2{{"w3 · wait<br/>until mon/thu 10:00"}}');
    expect(lines).toContain('  s3{{"wf · waitFor<br/>message_opened, up to 7d"}}');
    expect(lines).toContain('  s4{"b1 · branch"}');
    expect(lines).toContain('  s5{"ab · split<br/>A 50% / B 50%"}');
    expect(lines).toContain('  s6["send-a · send<br/>sms: trial<br/>transactional"]');
    expect(lines).toContain('  s7["c1 · issueCoupon<br/>baby: 50 CNY<br/>valid 14d"]');
    expect(lines).toContain('  s8[/"t1 · tag<br/>pregnant, vip#lt;3"/]');
    expect(lines).toContain(
      '  s9[/"st · setTrait<br/>stage = newborn<br/>since = now<br/>size = event.size"/]',
    );
    expect(lines).toContain('  s10["wh · webhook<br/>supply-chain<br/>5 attempts"]');
    expect(lines).toContain('  s11["n1 · notify<br/>service-team: complaint-alert"]');
    expect(lines).toContain('  s12>"loop · goto<br/>to w3, at most 40×"]');
    expect(lines).toContain('  s13(("done · exit"))');
  });

  test('edges labelled with what takes them', () => {
    expect(lines).toContain('  s1 -->|"dueDate missing"| s13');
    expect(lines).toContain('  s1 --> s2');
    expect(lines).toContain('  s3 -->|"event message_opened where event.stepId = w1"| s4');
    expect(lines).toContain('  s3 -->|"timeout 7d"| s5');
    expect(lines).toContain('  s4 -->|"if tag vip"| s8');
    expect(lines).toContain('  s4 -->|"if did message_clicked at send-a"| s9');
    expect(lines).toContain('  s4 -->|"if (rfm in [dormant, at-risk] AND NOT event.total #lt; 100)"| s10');
    expect(lines).toContain('  s4 -->|"else"| s13');
    expect(lines).toContain('  s5 -->|"A 50%"| s6');
    expect(lines).toContain('  s5 -->|"B 50%"| s7');
    expect(lines).toContain('  s6 --> s12'); // `next` wins over the list order
    expect(lines).toContain('  s10 -->|"ok"| s11');
    expect(lines).toContain('  s10 -->|"failed after 5 attempts"| s11');
    expect(lines).toContain('  s12 -->|"loop, at most 40×"| s2');
    expect(lines).toContain('  s12 -->|"after 40×"| s13');
    // An exit step leads nowhere; the end of the list does not appear (nothing falls off it).
    expect(chart).not.toMatch(/^\s+s13 -->/m);
    expect(chart).not.toContain('finish');
  });

  test('running off the end of the list leads to an end node', () => {
    const short: Journey = {
      ...JOURNEY,
      exit: [],
      steps: [{ id: 'only', type: 'send', channel: 'sms', template: 'x' }],
    };
    const out = toMermaid(short);
    expect(out).toContain('  s0 --> finish');
    expect(out).toContain('  finish((end))');
    expect(out).not.toContain('goals');
  });

  test('long conditions are cut; summaries of every operator', () => {
    expect(
      conditionSummary({
        any: [
          { trait: 'lastOrderAt', before: '-90d' },
          { trait: 'birthday', anniversaryWithin: '7d' },
        ],
      }),
    ).toBe('(lastOrderAt before -90d OR birthday anniversary within 7d)');
    const long = conditionSummary({
      all: Array.from({ length: 10 }, (_, i) => ({ trait: `t${i}`, eq: 'value' })),
    });
    expect(long.length).toBe(70);
    expect(long.endsWith('…')).toBe(true);
  });
});
