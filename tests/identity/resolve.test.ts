import type { TouchRecord } from '../../customers/touches';
import type { MergeParticipant } from '../../customers/merge';
import { closeHarness, identify, identityHarness, track, type IdentityHarness } from './support';

const PHONE = '+8613800138000';
const TZ = 'Asia/Shanghai';

let h: IdentityHarness;
afterEach(() => closeHarness(h));

/** What the router does first with an event: resolve the customer; an identify's traits then go to its profile. */
async function resolve(event: Parameters<IdentityHarness['identity']['resolveDetailed']>[0]) {
  const resolution = await h.identity.resolveDetailed(event);
  if (event.type === 'identify') await h.profiles.merge(resolution.customerId, event.traits, event.messageId);
  return resolution;
}

function touch(customerId: string, key: string, at = new Date()): Promise<boolean> {
  const record: TouchRecord = {
    journeyId: 'j',
    journeyVersion: 1,
    customerId,
    stepId: 's',
    channel: 'sms',
    template: 't',
    status: 'queued',
    at: at.toISOString(),
  };
  return h.touches.recordOnce(key, record, 'step:s:sent');
}

describe('resolution and linking', () => {
  beforeEach(() => {
    h = identityHarness();
  });

  test('an identify links every identifier to one customer; each finds it in any spelling', async () => {
    const first = await resolve(
      identify(
        { userId: 'U1', anonymousId: 'a1' },
        {
          phone: '138 0013 8000',
          email: 'Wang@Example.com',
          memberId: 'M1',
          unionId: 'un1',
          openId: 'o1',
          openIdApp: 'mini',
        },
        { context: { device: { id: 'dev-1' } } },
      ),
    );
    expect(first).toEqual({ customerId: 'U1', created: true, merged: [], linked: 8, conflicts: [] });
    const lookups: [Parameters<IdentityHarness['identity']['lookup']>[0], string][] = [
      ['userId', 'U1'],
      ['anonymousId', 'a1'],
      ['deviceId', 'dev-1'],
      ['phone', '008613800138000'],
      ['phone', '+86 138-0013-8000'],
      ['email', ' WANG@example.COM'],
      ['memberId', 'M1'],
      ['unionId', 'un1'],
      ['openId', 'mini:o1'],
    ];
    for (const [type, value] of lookups) expect(await h.identity.lookup(type, value)).toBe('U1');
    expect(await h.identity.lookup('openId', 'default:o1')).toBeUndefined();
    expect(await h.identity.lookup('phone', '13900139000')).toBeUndefined();

    const customer = await h.identity.customer('U1');
    expect(customer).toMatchObject({ id: 'U1', origin: 'userId', aliases: [] });
    expect(customer!.identifiers.map((i) => [i.type, i.value])).toEqual([
      ['userId', 'U1'],
      ['memberId', 'M1'],
      ['unionId', 'un1'],
      ['openId', 'mini:o1'],
      ['email', 'wang@example.com'], // sealed, readable for the API (which masks it)
      ['phone', PHONE],
      ['deviceId', 'dev-1'],
      ['anonymousId', 'a1'],
    ]);

    // The same message again (a retried job) and a later one change nothing.
    expect(await resolve(identify({ userId: 'U1' }, { phone: '13800138000' }))).toMatchObject({
      customerId: 'U1',
      created: false,
      linked: 0,
    });
  });

  test('no phone number or email is stored in clear: index keys hold their blind index', async () => {
    await resolve(identify({ anonymousId: 'a2' }, { phone: PHONE, email: 'li@example.com' }));
    const keys = await h.redis.keys(`${h.prefix}:identity:*`);
    const values = await Promise.all(
      keys.map(async (k) => {
        const type = await h.redis.type(k);
        if (type === 'hash') return JSON.stringify(await h.redis.hgetall(k));
        if (type === 'string') return (await h.redis.get(k)) ?? '';
        return '';
      }),
    );
    const dump = [...keys, ...values].join('\n');
    expect(dump).not.toContain('13800138000');
    expect(dump).not.toContain('li@example.com');
    expect(keys).toContain(h.keys.identityIndex(`phone:${h.cipher.blindIndex('phone', PHONE)}`));
  });

  test('new customers: the userId, else anon:<anonymousId>; later events find them by any identifier', async () => {
    expect((await resolve(identify({ anonymousId: 'b1' }, { memberId: 'MB1' }))).customerId).toBe('anon:b1');
    // A track carrying the member id in context.traits, from another device.
    const viewed = track(
      { anonymousId: 'b2' },
      'page_viewed',
      {},
      { context: { traits: { memberId: 'MB1' } } },
    );
    expect(await resolve(viewed)).toMatchObject({ customerId: 'anon:b1', linked: 1, merged: [] });
    expect(await h.identity.lookup('anonymousId', 'b2')).toBe('anon:b1');
  });

  test('linking events: properties.memberId / phone link on coupon_claimed, not on other events', async () => {
    await resolve(identify({ anonymousId: 'pos-1' }, { memberId: 'ML1' }));
    expect(
      (await resolve(track({ anonymousId: 'web-1' }, 'page_viewed', { memberId: 'ML1' }))).customerId,
    ).toBe('anon:web-1');
    expect(
      (await resolve(track({ anonymousId: 'web-2' }, 'order_completed', { memberId: 'ML1' }))).customerId,
    ).toBe('anon:pos-1');
  });

  test('internal events (customerId) and enrolments follow aliases and change nothing', async () => {
    await resolve(identify({ anonymousId: 'i1' }, { memberId: 'MI1' }));
    await resolve(track({ userId: 'UI1' }, 'coupon_claimed', { memberId: 'MI1' }));
    expect(await h.identity.canonical('anon:i1')).toBe('UI1');
    const before = await h.identity.stats();
    const outcome = track({ userId: 'anon-looking', customerId: 'anon:i1' }, 'message_sent', {
      memberId: 'X',
    });
    expect(await resolve(outcome)).toMatchObject({ customerId: 'UI1', linked: 0, created: false });
    const enrol = {
      type: 'enrol' as const,
      journeyId: 'j',
      userId: 'anon:i1',
      messageId: 'e1',
      timestamp: '',
      receivedAt: '',
    };
    expect((await resolve(enrol)).customerId).toBe('UI1');
    expect((await resolve({ ...enrol, customerId: 'someone-else' })).customerId).toBe('someone-else');
    expect(await h.identity.stats()).toEqual(before);
    expect(await h.identity.lookup('memberId', 'X')).toBeUndefined();
  });
});

describe('merging', () => {
  beforeEach(() => {
    h = identityHarness();
  });

  test('a claim naming the store card merges the store member into the online user: traits, tags, consent, caps, touches', async () => {
    const now = new Date();
    // The store member, known to the POS.
    const pos = await resolve(
      identify({ anonymousId: 'pos-9' }, { memberId: 'M9', phone: PHONE, name: '钟磊', level: 'gold' }),
    );
    expect(pos.customerId).toBe('anon:pos-9');
    await h.profiles.addTags('anon:pos-9', ['store-vip']);
    await h.rules.consent.record('anon:pos-9', {
      channel: 'sms',
      topic: 'marketing',
      status: 'revoked',
      source: 'store-form',
      at: new Date(now.getTime() - 60_000),
    });
    await h.rules.caps.consume('anon:pos-9', 'sms', 'touch-pos', now, TZ);
    await touch('anon:pos-9', 'touch-pos', new Date(now.getTime() - 1000));
    // The online user.
    await resolve(identify({ userId: 'U9' }, { name: 'Zhong Lei', email: 'zl@example.com' }));
    await h.profiles.addTags('U9', ['online']);
    await h.rules.consent.record('U9', {
      channel: 'sms',
      topic: 'marketing',
      status: 'granted',
      source: 'api',
      at: now,
    });
    await h.rules.consent.record('U9', {
      channel: 'email',
      topic: 'marketing',
      status: 'granted',
      source: 'api',
      at: now,
    });
    await h.rules.caps.consume('U9', 'sms', 'touch-online', now, TZ);
    await touch('U9', 'touch-online', now);

    const claim = await resolve(
      track({ userId: 'U9' }, 'coupon_claimed', { memberId: 'M9', source: 'miniprogram' }),
    );
    expect(claim).toMatchObject({ customerId: 'U9', merged: ['anon:pos-9'], created: false });

    // Traits: the winner's value wins, the loser fills the gaps; the loser keeps nothing.
    expect(await h.profiles.get('U9')).toEqual({
      name: 'Zhong Lei',
      email: 'zl@example.com',
      phone: PHONE,
      memberId: 'M9',
      level: 'gold',
    });
    expect(await h.profiles.get('anon:pos-9')).toEqual({});
    expect(await h.profiles.tags('U9')).toEqual(['online', 'store-vip']);
    expect(await h.profiles.tags('anon:pos-9')).toEqual([]);
    expect(await h.profiles.customersByPhone(PHONE)).toEqual(['U9']);
    // Consent: the opt-out wins although the grant is later; other channels as they were.
    expect((await h.rules.consent.check('U9', 'sms')).allowed).toBe(false);
    expect((await h.rules.consent.check('U9', 'email')).allowed).toBe(true);
    expect((await h.rules.consent.history('U9')).map((r) => r.status)).toEqual([
      'revoked',
      'granted',
      'granted',
    ]);
    expect(await h.redis.exists(h.keys.consent('anon:pos-9'), h.keys.consentHistory('anon:pos-9'))).toBe(0);
    // An unsubscribe link or API call naming the merged-away id acts on the customer.
    expect((await h.rules.consent.check('anon:pos-9', 'email')).allowed).toBe(true);
    // Caps: summed.
    expect(await h.rules.caps.usage('U9', 'sms', now, TZ)).toEqual({ 'sms:day': 2, 'sms:week': 2 });
    expect(await h.rules.caps.usage('anon:pos-9', 'sms', now, TZ)).toEqual({ 'sms:day': 0, 'sms:week': 0 });
    // Touches: one history.
    expect(await h.redis.zrange(h.keys.customerTouches('U9'), 0, -1)).toEqual(['touch-pos', 'touch-online']);
    expect(await h.redis.exists(h.keys.customerTouches('anon:pos-9'))).toBe(0);

    // The merged id is an alias: every way of naming the person finds the winner.
    expect(await h.identity.canonical('anon:pos-9')).toBe('U9');
    expect(await h.identity.aliasesOf('U9')).toEqual(['anon:pos-9']);
    expect((await resolve(identify({ anonymousId: 'pos-9' }, { points: 120 }))).customerId).toBe('U9');
    expect(await h.identity.lookup('phone', PHONE)).toBe('U9');
    expect((await h.identity.customer('U9'))!.identifiers.map((i) => i.type)).toEqual([
      'userId',
      'memberId',
      'email',
      'phone',
      'anonymousId',
    ]);
    const { merges } = await h.identity.history('U9');
    expect(merges).toEqual([
      expect.objectContaining({
        winner: 'U9',
        loser: 'anon:pos-9',
        messageId: expect.any(String),
        completed: true,
      }),
    ]);
    expect(merges[0]!.via.map((v) => [v.type, v.value])).toEqual([
      ['userId', 'U9'],
      ['memberId', 'M9'],
    ]);
    expect((await h.identity.history('anon:pos-9')).merges).toHaveLength(1);
    expect(await h.identity.stats()).toMatchObject({ merges: 1 });
  });

  test('the winner is the userId customer, else the earliest created; a chain of merges keeps one alias hop', async () => {
    await resolve(identify({ anonymousId: 'x' }, { phone: '13900000001' }));
    await new Promise((r) => setTimeout(r, 5));
    await resolve(identify({ anonymousId: 'y' }, { email: 'y@example.com' }));
    // Neither is a userId customer: the earlier (anon:x) wins.
    const both = await resolve(
      identify({ anonymousId: 'z' }, { phone: '13900000001', email: 'y@example.com' }),
    );
    expect(both).toMatchObject({ customerId: 'anon:x', merged: ['anon:y'] });
    // A userId new to the graph is a customer of its own, and wins over anonymous ones.
    const login = await resolve(identify({ userId: 'UX', anonymousId: 'z' }, {}));
    expect(login).toMatchObject({ customerId: 'UX', merged: ['anon:x'], created: true });
    expect(await h.identity.canonical('anon:y')).toBe('UX');
    expect(await h.identity.aliasesOf('UX')).toEqual(['anon:x', 'anon:y']);
    // Every merge in the customer's history, completed.
    const { merges } = await h.identity.history('UX');
    expect(merges.map((m) => [m.loser, m.winner, m.completed])).toEqual([
      ['anon:y', 'anon:x', true],
      ['anon:x', 'UX', true],
    ]);
  });

  test('two accounts (userIds) stay apart by default; allowed two userIds, the earlier account wins', async () => {
    await resolve(identify({ userId: 'UA' }, { openId: 'o-shared' }));
    await resolve(identify({ userId: 'UB' }, { memberId: 'MB' }));
    // The same WeChat user logged into a second account: the openid is refused, not merged.
    expect(await resolve(identify({ userId: 'UB' }, { openId: 'o-shared' }))).toMatchObject({
      customerId: 'UB',
      merged: [],
      conflicts: ['identifiersPerType'],
    });
    expect(await h.identity.lookup('openId', 'default:o-shared')).toBe('UA');
    await closeHarness(h);

    h = identityHarness({ maxIdentifiersPerType: { userId: 2 } });
    await resolve(identify({ userId: 'UA' }, { openId: 'o-shared' }));
    await resolve(identify({ userId: 'UB' }, { memberId: 'MB' }));
    expect(await resolve(identify({ userId: 'UB' }, { openId: 'o-shared' }))).toMatchObject({
      customerId: 'UA',
      merged: ['UB'],
    });
    expect(await h.identity.canonical('UB')).toBe('UA');
  });

  test('parallel events of the same two identifiers make one merge', async () => {
    await resolve(identify({ userId: 'UP' }, { name: 'P' }));
    await resolve(identify({ anonymousId: 'pos-p' }, { memberId: 'MP', level: 'silver' }));
    const calls = Array.from({ length: 8 }, () =>
      resolve(track({ userId: 'UP' }, 'coupon_claimed', { memberId: 'MP' })),
    );
    const results = await Promise.all(calls);
    expect(new Set(results.map((r) => r.customerId))).toEqual(new Set(['UP']));
    expect(results.flatMap((r) => r.merged)).toEqual(['anon:pos-p']);
    expect(await h.identity.stats()).toMatchObject({ merges: 1 });
    // Whichever event came second waited for the data: every one of them sees the merged profile.
    expect(await h.profiles.get('UP')).toEqual({ name: 'P', memberId: 'MP', level: 'silver' });

    // Parallel first sightings of one identifier make one customer.
    const firsts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => resolve(identify({ anonymousId: `dev-${i}` }, { memberId: 'MQ' }))),
    );
    expect(new Set(firsts.map((r) => r.customerId)).size).toBe(1);
    expect(firsts.filter((r) => r.created)).toHaveLength(1);
  });

  test('a merge interrupted by a failure is finished by the retried job, each participant once', async () => {
    const calls: string[] = [];
    let failures = 1;
    const flaky: MergeParticipant = {
      name: 'flaky',
      async mergeInto(loser, winner) {
        calls.push(`flaky ${loser}->${winner}`);
        if (failures-- > 0) throw new Error('crash in the middle of a merge');
      },
    };
    h.identity.merges.register(flaky);
    await resolve(identify({ userId: 'UR' }, {}));
    await resolve(identify({ anonymousId: 'r' }, { memberId: 'MR', tier: 2 }));
    const claim = track({ userId: 'UR' }, 'coupon_claimed', { memberId: 'MR' });
    await expect(resolve(claim)).rejects.toThrow('crash in the middle of a merge');
    // Decided (the alias exists), data partly moved, the merge still pending.
    expect(await h.identity.canonical('anon:r')).toBe('UR');
    expect((await h.identity.history('UR')).merges[0]!.completed).toBe(false);
    expect(await h.profiles.get('UR')).toEqual({ memberId: 'MR', tier: 2 }); // the profile participant ran

    // BullMQ retries the job: the same message resolves to the same customer and finishes the merge.
    expect(await resolve(claim)).toMatchObject({ customerId: 'UR', merged: [] });
    expect((await h.identity.history('UR')).merges[0]!.completed).toBe(true);
    expect(calls).toEqual(['flaky anon:r->UR', 'flaky anon:r->UR']);
    expect(await h.profiles.get('anon:r')).toEqual({});
    // Once more: nothing left to do.
    await resolve(claim);
    expect(calls).toHaveLength(2);
    expect(await h.identity.stats()).toMatchObject({ merges: 1 });
  });
});

describe('limits', () => {
  test('a shared store phone: the merge past maxCustomersPerIdentifier is refused, recorded and counted once', async () => {
    h = identityHarness({ maxCustomersPerIdentifier: 2 });
    const STORE = '0571-8888-6666';
    for (const m of ['S1', 'S2', 'S3']) await resolve(identify({ anonymousId: `pos-${m}` }, { memberId: m }));
    // The POS puts the store's phone on each member's record.
    await resolve(identify({ anonymousId: 'pos-S1' }, { memberId: 'S1', phone: STORE }));
    expect(
      await resolve(identify({ anonymousId: 'pos-S2' }, { memberId: 'S2', phone: STORE })),
    ).toMatchObject({
      customerId: 'anon:pos-S1',
      merged: ['anon:pos-S2'],
    });
    const third = identify({ anonymousId: 'pos-S3' }, { memberId: 'S3', phone: STORE });
    const refused = await resolve(third);
    expect(refused).toEqual({
      customerId: 'anon:pos-S3',
      created: false,
      merged: [],
      linked: 0,
      conflicts: ['customersPerIdentifier'],
    });
    // Nothing merged: the phone stays with the customer it has, S3 stays apart.
    expect(await h.identity.lookup('phone', STORE)).toBe('anon:pos-S1');
    expect(await h.identity.lookup('memberId', 'S3')).toBe('anon:pos-S3');
    expect(await h.identity.canonical('anon:pos-S3')).toBe('anon:pos-S3');
    expect(await h.identity.stats()).toMatchObject({
      merges: 1,
      conflicts: 1,
      'conflicts:customersPerIdentifier': 1,
    });
    const { conflicts } = await h.identity.history('anon:pos-S3');
    expect(conflicts).toEqual([
      expect.objectContaining({
        kind: 'customersPerIdentifier',
        limit: 2,
        customer: 'anon:pos-S3',
        holder: 'anon:pos-S1',
        identifier: expect.objectContaining({ type: 'phone', value: '057188886666' }),
      }),
    ]);
    expect((await h.identity.history('anon:pos-S1')).conflicts).toHaveLength(1);
    expect(await h.identity.recentConflicts()).toHaveLength(1);
    // The same message retried records nothing new; a new message counts again.
    await resolve(third);
    expect(await h.identity.stats()).toMatchObject({ conflicts: 1 });
    await resolve(identify({ anonymousId: 'pos-S3' }, { memberId: 'S3', phone: STORE }));
    expect(await h.identity.stats()).toMatchObject({ conflicts: 2 });
  });

  test('maxIdentifiersPerType: a member card the store customer cannot take starts a customer of its own', async () => {
    h = identityHarness({ maxIdentifiersPerType: { memberId: 1 } });
    const STORE = '0571-8888-7777';
    await resolve(identify({ anonymousId: 'till-1' }, { memberId: 'T1', phone: STORE }));
    // A second member at the same till with the store phone: the phone is refused, not the card.
    const second = await resolve(identify({ anonymousId: 'till-2' }, { memberId: 'T2', phone: STORE }));
    expect(second).toMatchObject({
      customerId: 'anon:till-2',
      created: true,
      merged: [],
      conflicts: ['identifiersPerType'],
    });
    expect(await h.identity.lookup('phone', STORE)).toBe('anon:till-1');
    expect(await h.identity.lookup('memberId', 'T2')).toBe('anon:till-2');
    expect((await h.identity.history('anon:till-2')).conflicts[0]).toMatchObject({
      kind: 'identifiersPerType',
      limit: 1,
      holder: 'anon:till-1',
    });
    // A second card from the first till: the card outranks the till's anonymous id, which is
    // refused; the card starts a customer named after it.
    const extra = await resolve(identify({ anonymousId: 'till-1' }, { memberId: 'T9' }));
    expect(extra).toMatchObject({
      customerId: 'member:T9',
      created: true,
      conflicts: ['identifiersPerType'],
    });
    expect(await h.identity.lookup('memberId', 'T9')).toBe('member:T9');
    expect(await h.identity.lookup('anonymousId', 'till-1')).toBe('anon:till-1');
  });
});
