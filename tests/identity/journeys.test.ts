import type { Journey } from '../../language/types';
import { outcomeEvent } from '../../delivery/outcomes';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';
import { eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { journey, STAY } from '../router/support';
import { identify, track } from './support';

const DAY = 86_400_000;

/** Both customers enter it; it keeps them waiting. */
const both = journey('both', {}, { steps: STAY });
/** A run waits for a ping, sends an SMS, waits for its click. */
const solo: Journey = journey(
  'solo',
  {},
  {
    steps: [
      { id: 'wait-ping', type: 'waitFor', event: 'solo_ping', timeoutMs: 30 * DAY },
      { id: 'sms', type: 'send', channel: 'sms', template: 'aipl-coupon-reminder' },
      { id: 'wait-click', type: 'waitFor', event: 'message_clicked', timeoutMs: 30 * DAY },
      { id: 'done', type: 'exit' },
    ],
  },
);

describe('journeys when customers merge (identity on, time-skipping server)', () => {
  const setup = useTimeSkippingEngine({ journeys: [both, solo], identity: true });
  const handle = (journeyId: string, customerId: string) =>
    setup.env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));

  test('both in the journey: the merged-away customer’s run is stopped, with the reason; the winner’s goes on', async () => {
    const { engine } = setup;
    await engine.route(identify({ anonymousId: 'jb-pos' }, { memberId: 'JB1', name: 'Store' }));
    expect((await engine.route(track({ anonymousId: 'jb-pos' }, 'both_go'))).entered).toEqual(['both']);
    expect((await engine.route(track({ userId: 'jb-online' }, 'both_go'))).entered).toEqual(['both']);

    const claim = await engine.route(track({ userId: 'jb-online' }, 'coupon_claimed', { memberId: 'JB1' }));
    expect(claim.customerId).toBe('jb-online');
    // (Not awaiting result(): that would let the time-skipping server run the winner's wait out.)
    await eventually(async () =>
      (await handle('both', 'anon:jb-pos').describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    const state = await handle('both', 'anon:jb-pos').query(stateQuery);
    expect(state.status).toBe('exited');
    expect(state.exitReason).toBe('merged into jb-online');
    expect(state.path.at(-1)).toMatchObject({
      type: 'stop',
      detail: { reason: 'merged into jb-online', by: 'identity' },
    });
    expect((await handle('both', 'jb-online').describe()).status.name).toBe('RUNNING');
    // The stopped run's end freed its slot: the customer is in the journey once.
    await eventually(async () =>
      (await engine.admission.activeAmong('both', ['anon:jb-pos'])).length === 0 ? true : undefined,
    );
    expect(await engine.admission.activeAmong('both', ['jb-online', 'anon:jb-pos'])).toEqual(['jb-online']);
  });

  test('only the merged-away customer in it: its run goes on, gets the customer’s events and sends to the merged profile', async () => {
    const { engine } = setup;
    await engine.route(identify({ anonymousId: 'js-pos' }, { memberId: 'JS1', phone: '13800138011' }));
    expect((await engine.route(track({ anonymousId: 'js-pos' }, 'solo_go'))).entered).toEqual(['solo']);
    await engine.route(identify({ userId: 'js-online' }, { name: 'Online' }));
    const claim = await engine.route(track({ userId: 'js-online' }, 'coupon_claimed', { memberId: 'JS1' }));
    expect(claim.customerId).toBe('js-online');
    expect((await handle('solo', 'anon:js-pos').describe()).status.name).toBe('RUNNING');

    // The winner cannot enter while the alias's run runs: no customer in a journey twice.
    const again = await engine.route(track({ userId: 'js-online' }, 'solo_go'));
    expect(again.entered).toEqual([]);
    expect(again.refused).toEqual([{ journeyId: 'solo', reason: 'running' }]);
    expect(again.signalled).toEqual(['solo']);
    await expect(handle('solo', 'js-online').describe()).rejects.toThrow();

    // The customer's event reaches the run under its old workflow id; its SMS goes to the merged
    // customer (the phone came from the store profile).
    const ping = await engine.route(track({ userId: 'js-online' }, 'solo_ping'));
    expect(ping.signalled).toEqual(['solo']);
    const sms = await eventually(async () => {
      const lines = (await engine.outbox('sms')).filter((l) => l.stepId === 'sms');
      return lines.length > 0 ? lines : undefined;
    }, 60_000);
    expect(sms).toEqual([expect.objectContaining({ customerId: 'js-online', to: '13800138011' })]);
    const touch = (await engine.touches.get(sms[0]!.idempotencyKey))!;
    expect(touch.customerId).toBe('js-online');
    expect(touch.journeyId).toBe('solo');

    // Delivery outcomes come back for the customer and still reach the run.
    const clicked = outcomeEvent({ ...touch, idempotencyKey: sms[0]!.idempotencyKey }, 'clicked', {});
    expect(clicked.customerId).toBe('js-online');
    expect((await engine.route(clicked)).signalled).toEqual(['solo']);
    const result: JourneyResult = await handle('solo', 'anon:js-pos').result();
    expect(result.status).toBe('completed');
    expect(result.path.find((p) => p.stepId === 'wait-click')).toMatchObject({ outcome: 'event' });

    // Its end freed the alias's slot: the customer may enter again, now under their own id.
    await eventually(async () =>
      (await engine.admission.activeAmong('solo', ['anon:js-pos'])).length === 0 ? true : undefined,
    );
    expect((await engine.route(track({ userId: 'js-online' }, 'solo_go'))).entered).toEqual(['solo']);
  });

  test('a retried merge event (the job ran before) merges nothing more and starts nothing twice', async () => {
    const { engine } = setup;
    await engine.route(identify({ anonymousId: 'jr-pos' }, { memberId: 'JR1' }));
    expect((await engine.route(track({ anonymousId: 'jr-pos' }, 'both_go'))).entered).toEqual(['both']);
    const claim = track({ userId: 'jr-online' }, 'coupon_claimed', { memberId: 'JR1' });
    const mergesBefore = (await engine.identity!.stats()).merges ?? 0;
    const first = await engine.route(claim);
    const retried = await engine.route(claim, true);
    expect(retried.customerId).toBe(first.customerId);
    expect((await engine.identity!.stats()).merges).toBe(mergesBefore + 1);
    expect((await engine.identity!.history('jr-online')).merges).toHaveLength(1);
    // The loser's run goes on (the winner is in no run of `both`), once.
    expect(await engine.admission.activeAmong('both', ['jr-online', 'anon:jr-pos'])).toEqual(['anon:jr-pos']);
    const entered = await engine.route(track({ userId: 'jr-online' }, 'both_go'));
    expect(entered.refused).toEqual([{ journeyId: 'both', reason: 'running' }]);
  });

  test('an outcome event naming the merged-away id (sent before the merge) reaches the run too', async () => {
    const { engine } = setup;
    await engine.route(identify({ anonymousId: 'jo-pos' }, { memberId: 'JO1', phone: '13800138012' }));
    expect((await engine.route(track({ anonymousId: 'jo-pos' }, 'solo_go'))).entered).toEqual(['solo']);
    await engine.route(track({ anonymousId: 'jo-pos' }, 'solo_ping'));
    const sms = await eventually(async () => {
      const lines = (await engine.outbox('sms')).filter((l) => l.customerId === 'anon:jo-pos');
      return lines.length > 0 ? lines : undefined;
    }, 60_000);
    const touch = (await engine.touches.get(sms[0]!.idempotencyKey))!;
    await engine.route(track({ userId: 'jo-online' }, 'member_bound', { memberId: 'JO1' }));
    const clicked = outcomeEvent({ ...touch, idempotencyKey: sms[0]!.idempotencyKey }, 'clicked', {});
    expect(clicked.customerId).toBe('anon:jo-pos');
    const routed = await engine.route(clicked);
    expect(routed).toMatchObject({ customerId: 'jo-online', signalled: ['solo'] });
    expect((await handle('solo', 'anon:jo-pos').result()).status).toBe('completed');
  });
});
