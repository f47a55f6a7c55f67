import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { EntryAdmission } from '../../router/admission';
import type { CustomerChange, SegmentMembership } from '../../router/customer-pipeline';
import { routeEvent } from '../../router/route-event';
import { profilesHarness } from './support';

/** The router's customer pipeline with the real computed traits (no journeys: no Temporal needed). */
describe('computed traits in the router pipeline (real Redis)', () => {
  test('a routed order updates the traits, and the segments hook hears which changed', async () => {
    const h = await profilesHarness();
    try {
      const calls: { customerId: string; change: CustomerChange }[] = [];
      const segments: SegmentMembership = {
        onCustomerChanged: async (customerId, change) => void calls.push({ customerId, change }),
      };
      const deps = {
        temporal: {} as Client,
        taskQueue: 'unused',
        profiles: h.profiles,
        catalog: {
          get: () => undefined,
          enteredBy: () => [],
          enteredByTrait: () => [],
          listeningTo: () => [],
        },
        admission: {} as EntryAdmission,
        logger: pino({ level: 'silent' }),
        computedTraits: h.computed,
        segments,
      };
      const at = new Date(h.clock.now).toISOString();
      const order = {
        type: 'track' as const,
        userId: 'u1',
        event: 'order_completed',
        properties: { orderId: 'A-1', total: 88, category: 'tea' },
        messageId: 'msg-1',
        timestamp: at,
        receivedAt: at,
      };
      await routeEvent(deps, order);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.customerId).toBe('u1');
      expect(calls[0]!.change.messageId).toBe('msg-1');
      expect(calls[0]!.change.traits).toEqual(
        expect.arrayContaining(['orderCount', 'totalSpend', 'lastSeenAt', 'rfmGroup', 'lifecycleStage']),
      );
      expect(await h.profiles.getWithTags('u1')).toMatchObject({ orderCount: 1, rfmGroup: 'new', tags: [] });

      // The job retried: counted once, the order's changes reported again.
      await routeEvent(deps, order, { repeat: true });
      expect((await h.profiles.get('u1')).orderCount).toBe(1);
      expect(calls[1]!.change.traits).toEqual(expect.arrayContaining(['orderCount', 'totalSpend']));

      // A delivery outcome about the customer is no sign of life.
      await routeEvent(deps, { ...order, event: 'message_opened', messageId: 'msg-2', properties: {} });
      expect(calls[2]!.change.traits).toEqual([]);
      // Nor is any event Touchpoint queued itself (it names the customer with `customerId`).
      h.clock.now += 60_000;
      const later = new Date(h.clock.now).toISOString();
      const queued = {
        ...order,
        event: 'store_visit',
        messageId: 'msg-3',
        timestamp: later,
        customerId: 'u1',
      };
      await routeEvent(deps, queued);
      expect(calls[3]!.change.traits).toEqual([]);
      await routeEvent(deps, { ...queued, messageId: 'msg-4', customerId: undefined });
      expect(calls[4]!.change.traits).toEqual(['lastSeenAt']);
    } finally {
      await h.close();
    }
  });
});
