import request from 'supertest';
import { maskTraits, maskValue } from '../../customers/masking';
import { loadTemplates } from '../../messages/templates';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { profilesHarness } from './support';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';

describe('masking sensitive traits for API answers', () => {
  test('phone, email, id number and other sensitive traits', () => {
    expect(maskValue('phone', '+8613800138000')).toBe('+86 138****8000');
    expect(maskValue('phone', '138 0013 8000')).toBe('+86 138****8000');
    expect(maskValue('phone', '+1 (212) 555-0100')).toBe('+1 212***0100');
    expect(maskValue('phone', '+44 20 7946 0958')).toBe('+44 207***0958');
    expect(maskValue('phone', '12345')).toBe('***45');
    expect(maskValue('email', 'wang@example.com')).toBe('w***@example.com');
    expect(maskValue('email', 'not-an-email')).toBe('***');
    expect(maskValue('idNumber', '110101199003071234')).toBe('**************1234');
    expect(maskValue('idNumber', '1234')).toBe('***');
    expect(maskValue('passport', 'E12345678')).toBe('***');
    expect(maskValue('phone', { nested: true })).toBe('***');
  });

  test('maskTraits masks the sensitive traits only; reveal returns them as they are', () => {
    const traits = {
      name: '王芳',
      phone: '+8613800138000',
      email: 'wang@example.com',
      idNumber: 'X1234',
      vip: true,
    };
    expect(maskTraits(traits)).toEqual({
      name: '王芳',
      phone: '+86 138****8000',
      email: 'w***@example.com',
      idNumber: '*1234',
      vip: true,
    });
    expect(maskTraits(traits, { reveal: true })).toEqual(traits);
    expect(maskTraits({ passport: 'E1', phone: '+8613800138000' }, { sensitive: ['passport'] })).toEqual({
      passport: '***',
      phone: '+8613800138000',
    });
    expect(traits.phone).toBe('+8613800138000'); // not changed in place
  });
});

describe('template previews show stored personal data masked unless revealed (real Redis)', () => {
  let dir: string;
  let app: TestApp;
  let logs: string[];
  let h: Awaited<ReturnType<typeof profilesHarness>>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tp-mask-'));
    mkdirSync(path.join(dir, 'sms'));
    writeFileSync(
      path.join(dir, 'sms', 'contact.en.hbs'),
      'Hi {{customer.name}}, we will call {{customer.phone}}.',
    );
    h = await profilesHarness();
    await h.profiles.merge('c1', { name: 'Wang', phone: '+8613800138000', locale: 'en' });
    logs = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    app = await startTestApp({
      templates: {
        templates: loadTemplates(dir),
        profiles: h.profiles,
        sensitive: h.config.sensitive,
        logger,
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const preview = (query = '', traits?: Record<string, unknown>) =>
    request(app.app)
      .post(`/v1/templates/preview${query}`)
      .set('Authorization', bearer(KEYS.adminKey))
      .send({ channel: 'sms', template: 'contact', customerId: 'c1', ...(traits ? { traits } : {}) });

  test('masked by default; ?reveal=true shows the number and logs who saw what', async () => {
    expect((await preview()).body.body).toBe('Hi Wang, we will call +86 138****8000.');
    expect(logs.filter((l) => l.includes('personal data revealed'))).toEqual([]);

    expect((await preview('?reveal=true')).body.body).toBe('Hi Wang, we will call +8613800138000.');
    const revealed = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'personal data revealed');
    expect(revealed).toEqual([
      expect.objectContaining({
        who: 'admin',
        customerId: 'c1',
        traits: ['phone'],
        where: 'POST /v1/templates/preview',
      }),
    ]);
    expect(JSON.stringify(revealed)).not.toContain('13800138000');

    // Traits the admin types in are theirs to see.
    expect((await preview('', { phone: '+8613900139000' })).body.body).toBe(
      'Hi Wang, we will call +8613900139000.',
    );
  });
});
