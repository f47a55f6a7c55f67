import { explainEntry, explainPath } from '../../audit/path-reasons';
import type { Journey, Step } from '../../language/types';
import type { PathEntry } from '../../workflows/definitions';

/*
 * Path reasons are derived at read time from what the workflow recorded on each entry (outcome,
 * detail) and the step as the pinned journey version defines it.
 */

const JOURNEY: Journey = {
  id: 'winback',
  name: 'Win back',
  version: 2,
  defaultLocale: 'zh-CN',
  entry: { api: true, reentry: { mode: 'always' } },
  exit: [{ event: 'order_completed' }],
  steps: [
    {
      id: 'route',
      type: 'branch',
      branches: [
        { when: { trait: 'rfm', eq: 'champion' }, goto: 'thanks' },
        { when: { trait: 'rfm', eq: 'dormant' }, goto: 'offer' },
      ],
      else: 'thanks',
    },
    { id: 'offer', type: 'send', channel: 'sms', template: 'dormant-offer' },
    {
      id: 'wait-order',
      type: 'waitFor',
      event: 'order_completed',
      timeoutMs: 7 * 86_400_000,
      onTimeout: 'ab',
    },
    {
      id: 'ab',
      type: 'split',
      arms: [
        { name: 'A', percent: 50, goto: 'thanks' },
        { name: 'B', percent: 50, goto: 'crm' },
      ],
    },
    { id: 'crm', type: 'webhook', url: 'http://crm.test/hook', attempts: 3, onFailure: 'thanks' },
    { id: 'pause', type: 'wait', durationMs: 3 * 86_400_000 },
    { id: 'again', type: 'goto', to: 'pause', maxIterations: 2 },
    { id: 'thanks', type: 'exit' },
  ],
};

const step = (id: string): Step => JOURNEY.steps.find((s) => s.id === id)!;
const at = '2026-01-01T00:00:00.000Z';
const entry = (
  stepId: string,
  type: string,
  outcome?: string,
  detail?: Record<string, unknown>,
): PathEntry => ({
  stepId,
  type,
  at,
  ...(outcome !== undefined ? { outcome } : {}),
  ...(detail ? { detail } : {}),
});

test.each([
  [
    'a branch names the condition that matched',
    entry('route', 'branch', 'branch:1', { goto: 'offer' }),
    'branch b2: rfm = dormant → offer',
  ],
  [
    'no branch matched',
    entry('route', 'branch', 'else', { goto: 'thanks' }),
    'no branch matched: else → thanks',
  ],
  [
    'a send',
    entry('offer', 'send', 'sent', { channel: 'sms', template: 'dormant-offer', idempotencyKey: 'k' }),
    'sent sms: dormant-offer',
  ],
  ['skipped in quiet hours', entry('offer', 'send', 'skipped:quiet_hours'), 'skipped: quiet hours'],
  ['skipped without consent', entry('offer', 'send', 'skipped:no_consent'), 'skipped: no consent'],
  ['skipped by the frequency cap', entry('offer', 'send', 'skipped:frequency_cap'), 'skipped: frequency cap'],
  [
    'held by quiet hours now',
    entry('offer', 'send', undefined, { deferredUntil: '2026-01-01T01:00:00.000Z', reason: 'quiet_hours' }),
    'held by quiet hours until 2026-01-01T01:00:00.000Z',
  ],
  [
    'a waitFor timing out, in the step’s own words',
    entry('wait-order', 'waitFor', 'timeout'),
    'waitFor order_completed timed out after 7d',
  ],
  [
    'the event a waitFor waited for',
    entry('wait-order', 'waitFor', 'event', { event: 'order_completed' }),
    'order_completed arrived',
  ],
  [
    'waiting now',
    entry('wait-order', 'waitFor', undefined, { timeoutAt: '2026-01-08T00:00:00.000Z' }),
    'waiting for order_completed until 2026-01-08T00:00:00.000Z',
  ],
  [
    'a split arm with its percent',
    entry('ab', 'split', 'arm:B', { goto: 'crm' }),
    'split: arm B (50%) → crm',
  ],
  [
    'a webhook that failed takes onFailure',
    entry('crm', 'webhook', 'failed', { url: 'http://crm.test/hook', attempts: 3, error: 'answered 503' }),
    'webhook http://crm.test/hook failed after 3 attempts: answered 503 → thanks',
  ],
  [
    'a webhook answered',
    entry('crm', 'webhook', 'sent', { url: 'http://crm.test/hook', status: 200 }),
    'webhook http://crm.test/hook answered 200',
  ],
  ['a wait', entry('pause', 'wait', 'waited', { wakeAt: at }), 'waited 3d'],
  [
    'a loop',
    entry('again', 'goto', 'goto:pause', { iteration: 1, maxIterations: 2 }),
    'goto pause (loop 1 of 2)',
  ],
  [
    'a loop guard',
    entry('again', 'goto', 'guard', { maxIterations: 2, goto: 'thanks' }),
    'loop limit reached (2×) → thanks',
  ],
  ['an exit step', entry('thanks', 'exit', 'exit'), 'exit step: the journey ends here'],
  [
    'an operator removed the customer',
    entry('pause', 'stop', 'exited', { reason: 'asked to stop', by: 'ops-li' }),
    'removed by ops-li: asked to stop',
  ],
  ['a run that ended while waiting', entry('pause', 'wait', 'converted'), 'the run ended here (converted)'],
])('%s', (_name, pathEntry, reason) => {
  expect(explainEntry(pathEntry, step(pathEntry.stepId), JOURNEY)).toBe(reason);
});

test('a migrated run explains its earlier entries from the version it was on then', () => {
  const v1: Journey = {
    ...JOURNEY,
    version: 1,
    steps: [
      {
        id: 'route',
        type: 'branch',
        branches: [{ when: { trait: 'tier', eq: 'gold' }, goto: 'pause' }],
        else: 'pause',
      },
      { id: 'pause', type: 'wait', durationMs: 86_400_000 },
    ],
  };
  const path = [
    entry('route', 'branch', 'branch:0', { goto: 'pause' }),
    entry('pause', 'wait', 'migrated', { wakeAt: at }),
    entry('pause', 'migrate', 'version:2', { from: 1, to: 2, by: 'ops-li', goto: 'pause' }),
    entry('pause', 'wait', 'waited', { wakeAt: at }),
  ];
  const versions = [1, 1, 1, 2];
  const explained = explainPath(path, (i) => (versions[i] === 1 ? v1 : JOURNEY));
  expect(explained.map((e) => e.reason)).toEqual([
    'branch b1: tier = gold → pause',
    'left this step: the run was migrated to another version',
    'migrated v1 → v2 by ops-li, continues at pause',
    'waited 3d',
  ]);
  // The entries keep what the workflow recorded.
  expect(explained[0]).toMatchObject({ stepId: 'route', outcome: 'branch:0', detail: { goto: 'pause' } });
});

test('an entry whose step the version does not have still gets its outcome', () => {
  expect(explainEntry(entry('gone', 'send', 'sent', { channel: 'email', template: 'x' }), undefined)).toBe(
    'sent email: x',
  );
  expect(explainEntry(entry('gone', 'branch', 'branch:0', { goto: 'a' }), undefined)).toBe('branch b1 → a');
});
