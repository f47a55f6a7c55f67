import request from 'supertest';
import { SignedTokens } from '../../../config/signed-tokens';
import { LinkTracker, trackedChannelsFrom } from '../../../delivery/tracking';
import { eventually } from '../../support/eventually';
import { outboxLines } from '../../support/outbox';
import { sleep, testMessage } from '../support';
import { Harness, PUBLIC_URL } from './harness';

const tracker = new LinkTracker(new SignedTokens(Buffer.from('unit-secret')), PUBLIC_URL);
const TRACKED = new RegExp(`${PUBLIC_URL}/r/([\\w-]+\\.[\\w-]+)`, 'g');
const tokensIn = (body: string) => [...body.matchAll(TRACKED)].map((m) => m[1]!);
const destinations = (body: string) => tokensIn(body).map((t) => tracker.click(t)?.url);

describe('rewriting a message', () => {
  test('SMS text: each http(s) URL, even followed by Chinese text or punctuation', () => {
    const message = testMessage({
      body: '点击https://shop.example.com/c/8K2Q领取，或看 http://m.example.cn/a?x=1&y=2。Also https://en.example.org/wiki/Sofa_(chair).',
    });
    const sent = tracker.rewrite(message);
    expect(destinations(sent.body)).toEqual([
      'https://shop.example.com/c/8K2Q',
      'http://m.example.cn/a?x=1&y=2',
      'https://en.example.org/wiki/Sofa_(chair)',
    ]);
    expect(sent.body).toMatch(/^点击https:\/\/tp\.example\.com\/r\/\S+领取，或看 https:\/\/tp/);
    expect(sent.body).toMatch(/\/r\/[\w-]+\.[\w-]+\.$/); // the full stop stays after the link
    expect(tracker.click(tokensIn(sent.body)[0]!)).toEqual({
      idempotencyKey: message.idempotencyKey,
      url: 'https://shop.example.com/c/8K2Q',
    });
  });

  test('HTML email: hrefs (entities decoded) and text URLs tracked, a pixel before </body>', () => {
    const message = testMessage({
      channel: 'email',
      to: 'wang@example.com',
      subject: 'Sale',
      body:
        '<html><body><p><a href="https://shop.example.com/sale?a=1&amp;b=2">Shop</a> ' +
        '&quot;https://shop.example.com/q&#x3D;1&quot; <a href="mailto:help@example.com">help</a> ' +
        `<a href="${PUBLIC_URL}/u/unsubscribe-token">unsubscribe</a></p></body></html>`,
    });
    const sent = tracker.rewrite(message);
    expect(destinations(sent.body)).toEqual([
      'https://shop.example.com/sale?a=1&b=2',
      'https://shop.example.com/q=1',
    ]);
    expect(sent.body).toContain('href="mailto:help@example.com"');
    expect(sent.body).toContain(`href="${PUBLIC_URL}/u/unsubscribe-token"`);
    expect(sent.body).toMatch(
      new RegExp(
        `<img src="${PUBLIC_URL}/o/[\\w-]+\\.[\\w-]+\\.gif" width="1" height="1" alt="" style="display:none"></body>`,
      ),
    );
    expect(tracker.rewrite(message)).toEqual(sent); // deterministic: a retry sends the same bytes
  });

  test('plain-text email gets no pixel; untracked channels and bodies without links are left alone', () => {
    const text = tracker.rewrite(testMessage({ channel: 'email', body: 'See https://a.example.com' }));
    expect(text.body).not.toContain('/o/');
    expect(destinations(text.body)).toEqual(['https://a.example.com']);
    const push = testMessage({ channel: 'push', body: 'See https://a.example.com' });
    expect(tracker.rewrite(push)).toBe(push);
    const plain = testMessage({ body: 'No links here' });
    expect(tracker.rewrite(plain)).toBe(plain);
    const emailOnly = new LinkTracker(
      new SignedTokens(Buffer.from('s')),
      PUBLIC_URL,
      trackedChannelsFrom('email'),
    );
    const sms = testMessage({ body: 'https://a.example.com' });
    expect(emailOnly.rewrite(sms)).toBe(sms);
  });

  test('TOUCHPOINT_TRACK_LINKS: true (default), false or a list of channels', () => {
    expect(trackedChannelsFrom(undefined)).toEqual(['email', 'sms', 'wecom']);
    expect(trackedChannelsFrom('true')).toEqual(['email', 'sms', 'wecom']);
    expect(trackedChannelsFrom('FALSE')).toEqual([]);
    expect(trackedChannelsFrom('email, wecom')).toEqual(['email', 'wecom']);
    expect(() => trackedChannelsFrom('email,fax')).toThrow('"fax" is not one of');
  });
});

describe('following tracked links and opening emails', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
    h.startWorkers();
  });
  afterEach(() => h.stop());

  /** An HTML email sent through the real worker (outbox provider); its body as it went out. */
  async function sentEmail() {
    const message = testMessage({
      channel: 'email',
      to: 'wang@example.com',
      subject: 'Last chance',
      body: '<html><body><a href="https://shop.example.com/sale?c=8K2Q">Shop now</a></body></html>',
    });
    await h.send(message);
    await h.finished(message, 'completed');
    const line = await eventually(
      async () => (await outboxLines(h.outbox.dir, 'email'))[0],
      10_000,
      'outbox line',
    );
    return { message, body: line.body };
  }

  test('the email goes out with its link tracked; the link redirects and records one click event', async () => {
    const { message, body } = await sentEmail();
    const [token] = [...body.matchAll(TRACKED)].map((m) => m[1]!);
    expect(token).toBeDefined();

    const res = await request(h.app).get(`/r/${token}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://shop.example.com/sale?c=8K2Q');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await h.touch(message)).toMatchObject({
      status: 'clicked',
      clicks: '1',
      clickedAt: expect.any(String),
    });
    const [event] = await h.eventsFor(message, 'message_clicked');
    expect(event!.properties).toMatchObject({
      stepId: message.stepId,
      url: 'https://shop.example.com/sale?c=8K2Q',
    });

    expect((await request(h.app).get(`/r/${token}`)).status).toBe(302);
    expect((await request(h.app).head(`/r/${token}`)).status).toBe(302); // a link scanner: not counted
    expect((await h.touch(message)).clicks).toBe('2');
    await sleep(100);
    expect(await h.eventsFor(message, 'message_clicked')).toHaveLength(1);
  });

  test('a forged or altered token is 404 and redirects nowhere', async () => {
    const { message } = await sentEmail();
    const forger = new SignedTokens(Buffer.from('not-our-secret'));
    const forged = forger.sign({ k: message.idempotencyKey, u: 'https://evil.example.net' });
    const ours = h.tokens.sign({ k: message.idempotencyKey, u: 'https://shop.example.com/sale?c=8K2Q' });
    const [body, mac] = ours.split('.');
    const altered = `${Buffer.from(JSON.stringify({ k: message.idempotencyKey, u: 'https://evil.example.net' })).toString('base64url')}.${mac}`;

    for (const token of [
      forged,
      altered,
      `${body}.`,
      'nonsense',
      h.tokens.sign({ k: message.idempotencyKey, u: 'javascript:alert(1)' }),
    ]) {
      const res = await request(h.app).get(`/r/${encodeURIComponent(token)}`);
      expect(res.status).toBe(404);
      expect(res.headers.location).toBeUndefined();
    }
    expect((await h.touch(message)).clicks).toBeUndefined();
  });

  test('the open pixel is a GIF and records one open event', async () => {
    const { message, body } = await sentEmail();
    const pixel = new RegExp(`${PUBLIC_URL}(/o/[\\w-]+\\.[\\w-]+\\.gif)`).exec(body)![1]!;

    const res = await request(h.app).get(pixel).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect((res.body as Buffer).subarray(0, 6).toString('ascii')).toBe('GIF89a');
    await request(h.app).get(pixel);
    expect(await h.touch(message)).toMatchObject({ status: 'opened', opens: '2' });
    expect(await h.eventsFor(message, 'message_opened')).toHaveLength(1);

    // A click token is no pixel, and the other way round.
    const click = h.tokens.sign({ k: message.idempotencyKey, u: 'https://shop.example.com' });
    expect((await request(h.app).get(`/o/${click}.gif`)).status).toBe(404);
    expect((await request(h.app).get(pixel.replace('.gif', ''))).status).toBe(404);
    expect((await request(h.app).get(pixel.replace('/o/', '/r/').replace('.gif', ''))).status).toBe(404);
  });
});
