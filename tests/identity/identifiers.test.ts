import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadIdentityConfig, parseIdentityConfig } from '../../customers/identity-config';
import { HmacBlindIndex, indexedIdentifier } from '../../customers/identity-keys';
import {
  DEFAULT_LINKING_EVENTS,
  identifiersOf,
  newCustomerId,
  normaliseIdentifier,
  type Identifier,
} from '../../customers/identifiers';
import { TraitCipher, newKeyLine, parseKeyRing } from '../../customers/encryption';
import { identify, track } from './support';

const LINKING = new Set(DEFAULT_LINKING_EVENTS);
const blindKey = Buffer.from('a-blind-index-key-of-enough-bytes');
const blind = new HmacBlindIndex(blindKey);

describe('identifiers of an event', () => {
  test('every type, normalised, highest priority first', () => {
    const event = identify(
      { userId: 'U1', anonymousId: 'a1' },
      {
        phone: '138-0013-8000',
        email: '  Wang@Example.COM ',
        memberId: 'CY00012345',
        unionId: 'oUn1',
        openId: 'oOpen1',
        openIdApp: 'mini',
      },
      { context: { device: { id: 'dev-1' } } },
    );
    expect(identifiersOf(event, LINKING)).toEqual([
      { type: 'userId', value: 'U1' },
      { type: 'memberId', value: 'CY00012345' },
      { type: 'unionId', value: 'oUn1' },
      { type: 'openId', value: 'mini:oOpen1' },
      { type: 'email', value: 'wang@example.com' },
      { type: 'phone', value: '+8613800138000' },
      { type: 'deviceId', value: 'dev-1' },
      { type: 'anonymousId', value: 'a1' },
    ]);
  });

  test('phone spellings meet; emails are trimmed and lower-cased; bad values are no identifiers', () => {
    for (const phone of ['13800138000', '+86 138 0013 8000', '008613800138000', '8613800138000', 13800138000])
      expect(normaliseIdentifier('phone', phone)).toBe('+8613800138000');
    expect(normaliseIdentifier('phone', 'call me')).toBeUndefined();
    expect(normaliseIdentifier('email', ' A@B.CN ')).toBe('a@b.cn');
    expect(normaliseIdentifier('email', 'not-an-email')).toBeUndefined();
    expect(normaliseIdentifier('memberId', '  ')).toBeUndefined();
    expect(normaliseIdentifier('memberId', 'M 1')).toBe('M 1'); // ids as sent
    expect(normaliseIdentifier('memberId', { id: 1 })).toBeUndefined();
    expect(normaliseIdentifier('userId', 'x'.repeat(257))).toBeUndefined();
  });

  test('openId: the app from the trait openIdApp, else context.app.id, else `default`', () => {
    const of = (traits: Record<string, unknown>, context?: Record<string, unknown>) =>
      identifiersOf(identify({ anonymousId: 'a' }, traits, context ? { context } : {}), LINKING).find(
        (i) => i.type === 'openId',
      )?.value;
    expect(of({ openId: 'o1', openIdApp: 'shop' }, { app: { id: 'mini' } })).toBe('shop:o1');
    expect(of({ openId: 'o1' }, { app: { id: 'mini' } })).toBe('mini:o1');
    expect(of({ openId: 'o1' })).toBe('default:o1');
  });

  test('tracks: context.traits always; properties memberId / phone only for linking events', () => {
    const claim = track({ userId: 'U2' }, 'coupon_claimed', {
      memberId: 'M2',
      phone: '13900139000',
      email: 'x@y.z',
    });
    expect(identifiersOf(claim, LINKING)).toEqual([
      { type: 'userId', value: 'U2' },
      { type: 'memberId', value: 'M2' },
      { type: 'phone', value: '+8613900139000' },
    ]);
    const view = track(
      { anonymousId: 'a9' },
      'page_viewed',
      { memberId: 'M2' },
      { context: { traits: { email: 'v@w.cn' } } },
    );
    expect(identifiersOf(view, LINKING)).toEqual([
      { type: 'email', value: 'v@w.cn' },
      { type: 'anonymousId', value: 'a9' },
    ]);
    expect(identifiersOf(view, new Set(['page_viewed']))).toContainEqual({ type: 'memberId', value: 'M2' });
  });

  test('a new customer is named after the userId, else anon:<anonymousId>, else the first other identifier', () => {
    const name = (ids: Identifier[]) => newCustomerId(ids, (i) => blind.hmac(i.type, i.value));
    expect(
      name([
        { type: 'userId', value: 'U' },
        { type: 'anonymousId', value: 'a' },
      ]),
    ).toBe('U');
    expect(
      name([
        { type: 'memberId', value: 'M1' },
        { type: 'anonymousId', value: 'a' },
      ]),
    ).toBe('anon:a');
    expect(
      name([
        { type: 'phone', value: '+86139' },
        { type: 'memberId', value: 'M1001' },
      ]),
    ).toBe('member:M1001');
    // Sensitive values never in clear, not even in an id.
    const byPhone = name([{ type: 'phone', value: '+8613800138000' }])!;
    expect(byPhone).toMatch(/^phone:[A-Za-z0-9_-]{22}$/);
    expect(byPhone).not.toContain('13800138000');
    expect(name([])).toBeUndefined();
  });
});

describe('blind index', () => {
  test('the same construction as the profiles cipher: one index whichever computes it', () => {
    const cipher = new TraitCipher(parseKeyRing(newKeyLine('k1')), blindKey);
    expect(blind.hmac('phone', '+8613800138000')).toBe(cipher.blindIndex('phone', '+8613800138000'));
    expect(blind.hmac('phone', '+8613800138000')).not.toBe(blind.hmac('email', '+8613800138000'));
    expect(indexedIdentifier({ type: 'phone', value: '+8613800138000' }, blind)).toBe(
      `phone:${cipher.blindIndex('phone', '+8613800138000')}`,
    );
    expect(indexedIdentifier({ type: 'memberId', value: 'M1' }, blind)).toBe('memberId:M1');
  });
});

describe('identity config', () => {
  test('defaults, a number for every type, or per type', () => {
    const defaults = parseIdentityConfig(undefined);
    expect(defaults.linkingEvents).toEqual(['coupon_claimed', 'member_bound', 'order_completed']);
    expect(defaults.maxCustomersPerIdentifier).toBe(5);
    expect(defaults.maxIdentifiersPerType).toMatchObject({ phone: 5, memberId: 5, userId: 1 });
    expect(parseIdentityConfig({ maxIdentifiersPerType: 3 }).maxIdentifiersPerType).toMatchObject({
      email: 3,
      userId: 3,
    });
    const perType = parseIdentityConfig({ maxIdentifiersPerType: { default: 2, anonymousId: 50 } });
    expect(perType.maxIdentifiersPerType).toMatchObject({ anonymousId: 50, memberId: 2, userId: 2 });
  });

  test('the example config file’s section is valid', () => {
    const example = loadIdentityConfig(path.join(__dirname, '../../touchpoint.example.yaml'));
    expect(example).toMatchObject({ linkingEvents: DEFAULT_LINKING_EVENTS, maxCustomersPerIdentifier: 5 });
  });

  test('a bad section lists every bad field with file:line:column', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-identity-'));
    const file = path.join(dir, 'touchpoint.yaml');
    writeFileSync(
      file,
      [
        'identity:',
        '  linkingEvents: [coupon_claimed, ""]',
        '  maxCustomersPerIdentifier: 0',
        '  shared: true',
        '',
      ].join('\n'),
    );
    expect(() => loadIdentityConfig(file)).toThrow(
      new RegExp(
        [
          `${file}:2:35: identity.linkingEvents.1: must not be empty`,
          `${file}:3:3: identity.maxCustomersPerIdentifier: must be at least 1`,
          `${file}:1:1: identity: Unrecognized key: "shared"`,
        ]
          .map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('[\\s\\S]*'),
      ),
    );
  });
});
