import path from 'node:path';
import fc from 'fast-check';
import { projectRoot } from '../../config/settings';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import type { Channel } from '../../language/types';
import { buildRenderContext } from '../../messages/context';
import { ContentTooLongError } from '../../messages/errors';
import { HTML_CHANNELS, loadTemplates, type RenderedMessage } from '../../messages/templates';
import { startTestApp, type TestApp } from '../server/fixture';
import { testRedis, uniquePrefix } from '../support/redis';
import { INJECTIONS, keepPrototypesClean, postJson, RUNS } from './support';

/*
 * Template injection at render time: whatever a customer's traits or an event's properties
 * hold, the shipped templates print it as text (HTML-escaped in email bodies) and never run it.
 */

const templates = loadTemplates(path.join(projectRoot, 'templates'));
const journey = { id: 'dormant-reactivation', name: 'Dormant reactivation', version: 1 };
const PROCESS_PROBE = "{{constructor.constructor('return process')()}}";

keepPrototypesClean();

/** Handlebars' escaping, as an independent oracle: & < > " ' ` = become entities. */
function escapeHtml(text: string): string {
  const entities: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#x27;',
    '`': '&#x60;',
    '=': '&#x3D;',
  };
  return text.replace(/[&<>"'`=]/g, (c) => entities[c]!);
}

/** Every field the shipped templates read, set to `value`. */
function contextWith(value: string) {
  const fields = { name: value, couponCode: value, groupBuyUrl: value, title: value };
  return buildRenderContext({
    customerId: 'c-1',
    traits: { ...fields, locale: 'en', phone: value, email: value },
    event: { event: 'segment_entered', properties: { ...fields, segment: 'dormant' } },
    journey,
  });
}

const MARK = 'DATAMARK';

/**
 * The rendered text, also when it breaks a channel's length limit (a long value in a 20-character
 * mini-program field): the refusal carries what was rendered, and that must be plain text too.
 */
function renderText(channel: Channel, name: string, locale: string, value: string): RenderedMessage {
  try {
    return templates.render(channel, name, locale, contextWith(value));
  } catch (err) {
    if (err instanceof ContentTooLongError) return err.rendered;
    throw err;
  }
}

test(`a trait ${PROCESS_PROBE} comes out literally in the SMS, not evaluated`, () => {
  const message = templates.render('sms', 'dormant-offer', 'en', contextWith(PROCESS_PROBE));
  expect(message.body).toContain(PROCESS_PROBE);
  expect(message.body).not.toMatch(/\[object process\]|function|\bpid\b/);
});

test('an injection in a trait runs nothing: no global, no prototype is touched', () => {
  for (const template of templates.list())
    renderText(template.channel as Channel, template.name, template.locale, INJECTIONS[1]);
  expect((globalThis as Record<string, unknown>).__drillPwned).toBeUndefined();
});

describe('every shipped template, any value', () => {
  test('renders the value exactly where a plain marker would be (escaped only in email bodies)', () => {
    const value = fc.oneof(
      fc.constantFrom(...INJECTIONS),
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    );
    const all = templates.list();
    fc.assert(
      fc.property(fc.constantFrom(...all), value, (template, v) => {
        const channel = template.channel as Channel;
        const plain = renderText(channel, template.name, template.locale, MARK);
        const hostile = renderText(channel, template.name, template.locale, v);
        const inBody = HTML_CHANNELS.has(channel) ? escapeHtml(v) : v;
        expect(hostile.body).toBe(plain.body.split(MARK).join(inBody));
        if (plain.subject !== undefined) expect(hostile.subject).toBe(plain.subject.split(MARK).join(v));
      }),
      { numRuns: RUNS * 4 },
    );
  });
});

describe('from the HTTP API to the rendered message', () => {
  let t: TestApp;
  const redis = testRedis();
  const keys = new RedisKeys(uniquePrefix('props-render'));
  const profiles = new ProfileStore(redis, keys);
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    for await (const found of redis.scanStream({ match: `${keys.profile('*')}`, count: 500 }))
      if ((found as string[]).length > 0) await redis.del(...(found as string[]));
    await redis.quit();
    await t.close();
  });

  test('a hostile trait is accepted (202), stored as sent and printed as text', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...INJECTIONS), async (name) => {
        const userId = `render-${++n}`;
        const messageId = `render-${process.pid}-${n}`;
        const res = await postJson(
          t,
          '/v1/identify',
          JSON.stringify({ userId, messageId, traits: { name, locale: 'en' } }),
        );
        expect(res.status).toBe(202);
        // What the router does with an identify: merge the traits into the profile.
        const job = await t.job(messageId);
        await profiles.merge(userId, job!.data.type === 'identify' ? job!.data.traits : {});
        const traits = await profiles.get(userId);
        expect(traits.name).toBe(name);
        const context = buildRenderContext({
          customerId: userId,
          traits,
          event: { event: 'segment_entered', properties: { couponCode: 'C-1' } },
          journey,
        });
        expect(templates.render('sms', 'dormant-offer', 'en', context).body).toContain(
          `${name}, we miss you`,
        );
      }),
      { numRuns: INJECTIONS.length },
    );
  });
});
