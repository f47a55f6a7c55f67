import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { PermanentDeliveryError } from '../../../delivery/providers/provider';
import { htmlToText, messageIdFor, SmtpProvider, type SmtpOptions } from '../../../delivery/providers/smtp';
import { closeAfterEach, sendError, testMessage } from '../support';
import { queueOnce, queueTwiceThenAgain, startDeliveryHarness } from './harness';

interface ReceivedMail {
  from: string;
  to: string[];
  user?: string;
  raw: string;
  /** Header name (lower case) → unfolded value. */
  headers: Map<string, string>;
}

interface TestSmtpServer {
  port: number;
  mails: ReceivedMail[];
  /** RCPT TO commands seen, accepted or not. */
  recipients: string[];
  close(): Promise<void>;
}

/** An error the server answers a command with: `responseCode` becomes the SMTP reply. */
function reply(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

interface ServerBehaviour {
  /** An error for a recipient, or nothing to accept it. */
  rcpt?: (address: SMTPServerAddress, attempt: number) => Error | undefined;
  /** An error after DATA, `hang` to never answer, nothing to accept the message. */
  data?: () => Error | 'hang' | undefined;
  /** Required credentials; without, AUTH is optional. */
  auth?: { user: string; pass: string };
}

/** A real SMTP server (smtp-server) on 127.0.0.1 and a free port; plain text, AUTH allowed. */
async function startSmtpServer(behaviour: ServerBehaviour = {}): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const recipients: string[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: !behaviour.auth,
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      const ok = auth.username === behaviour.auth?.user && auth.password === behaviour.auth?.pass;
      callback(
        ok ? null : reply(535, 'Authentication credentials invalid'),
        ok ? { user: auth.username } : undefined,
      );
    },
    onRcptTo(address, _session, callback) {
      recipients.push(address.address);
      callback(behaviour.rcpt?.(address, recipients.length) ?? null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const outcome = behaviour.data?.();
        if (outcome === 'hang') return;
        if (outcome) return callback(outcome);
        const raw = Buffer.concat(chunks).toString('utf8');
        const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
        const headers = new Map<string, string>();
        for (const line of head.split('\r\n')) {
          const colon = line.indexOf(':');
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
        }
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw,
          headers,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    mails,
    recipients,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function email(overrides = {}) {
  return testMessage({
    channel: 'email',
    template: 'dormant-last-chance',
    to: 'li.na@example.com',
    subject: 'Your welcome-back offer ends soon',
    body: '<p>Hi Li,</p><p><a href="https://qimu.example.com/new?a=1&amp;b=2">See what&#39;s new</a></p>',
    ...overrides,
  });
}

describe('SmtpProvider against a local SMTP server', () => {
  let server: TestSmtpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function provider(options: Partial<SmtpOptions> = {}): SmtpProvider {
    return new SmtpProvider({
      host: '127.0.0.1',
      port: server!.port,
      secure: false,
      from: 'Qimu Home <hello@qimu.example.com>',
      connectionTimeoutMs: 2000,
      greetingTimeoutMs: 2000,
      socketTimeoutMs: 2000,
      ...options,
    });
  }

  test('HTML with a text alternative, Message-ID from the idempotency key, one-click List-Unsubscribe', async () => {
    server = await startSmtpServer({ auth: { user: 'mailer', pass: 's3cret' } });
    const message = email({ unsubscribeUrl: 'https://qimu.example.com/u/abc123' });

    const sent = await provider({
      auth: { user: 'mailer', pass: 's3cret' },
      replyTo: 'care@qimu.example.com',
    }).send(message);

    expect(server.mails).toHaveLength(1);
    const [mail] = server.mails;
    const messageId = messageIdFor(message.idempotencyKey, 'qimu.example.com');
    expect(sent).toEqual({ providerMessageId: messageId });
    expect(mail!.user).toBe('mailer');
    expect(mail!.from).toBe('hello@qimu.example.com');
    expect(mail!.to).toEqual(['li.na@example.com']);
    expect(mail!.headers.get('message-id')).toBe(messageId);
    expect(messageId).not.toContain(message.customerId); // the key itself stays private
    expect(mail!.headers.get('from')).toBe('Qimu Home <hello@qimu.example.com>');
    expect(mail!.headers.get('reply-to')).toBe('care@qimu.example.com');
    expect(mail!.headers.get('subject')).toBe('Your welcome-back offer ends soon');
    expect(mail!.headers.get('list-unsubscribe')).toBe('<https://qimu.example.com/u/abc123>');
    expect(mail!.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail!.headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(mail!.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail!.raw).toMatch(/Content-Type: text\/html/);
    expect(mail!.raw).toContain("See what's new (https://qimu.example.com/new?a=1&b=2)");
  });

  test('the same key sends the same Message-ID again (receivers dedupe by it)', async () => {
    server = await startSmtpServer();
    const message = email();
    await provider().send(message);
    await provider().send(message);
    expect(server.mails.map((m) => m.headers.get('message-id'))).toEqual([
      messageIdFor(message.idempotencyKey, 'qimu.example.com'),
      messageIdFor(message.idempotencyKey, 'qimu.example.com'),
    ]);
  });

  test('no unsubscribe URL, no List-Unsubscribe; an http one gets no one-click header', async () => {
    server = await startSmtpServer();
    await provider().send(email());
    await provider().send(email({ unsubscribeUrl: 'http://localhost:3000/u/x' }));
    expect(server.mails[0]!.headers.has('list-unsubscribe')).toBe(false);
    expect(server.mails[1]!.headers.get('list-unsubscribe')).toBe('<http://localhost:3000/u/x>');
    expect(server.mails[1]!.headers.has('list-unsubscribe-post')).toBe(false);
  });

  test.each([
    [550, 'Mailbox unavailable'],
    [553, 'Mailbox name not allowed'],
  ])('%i at RCPT TO is permanent', async (code, text) => {
    server = await startSmtpServer({ rcpt: () => reply(code, text) });
    const err = await sendError(provider(), email());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`${code} ${text}`);
    expect(server.mails).toHaveLength(0);
  });

  test.each([
    [450, 'Mailbox busy'],
    [451, 'Greylisted, try again later'],
    [452, 'Insufficient storage'],
  ])('%i at RCPT TO is retryable', async (code, text) => {
    server = await startSmtpServer({ rcpt: () => reply(code, text) });
    const err = await sendError(provider(), email());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`${code} ${text}`);
  });

  test('554 after DATA (content rejected) is permanent; 451 after DATA is retryable', async () => {
    server = await startSmtpServer({ data: () => reply(554, 'Message rejected as spam') });
    expect(await sendError(provider(), email())).toBeInstanceOf(PermanentDeliveryError);
    await server.close();
    server = await startSmtpServer({ data: () => reply(451, 'Local error in processing') });
    expect(await sendError(provider(), email())).not.toBeInstanceOf(PermanentDeliveryError);
  });

  test('a wrong password (535) is permanent', async () => {
    server = await startSmtpServer({ auth: { user: 'mailer', pass: 's3cret' } });
    const err = await sendError(provider({ auth: { user: 'mailer', pass: 'wrong' } }), email());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('535');
  });

  test('a server that never answers the message times out with a retryable error', async () => {
    server = await startSmtpServer({ data: () => 'hang' });
    const started = Date.now();
    const err = await sendError(provider({ socketTimeoutMs: 300 }), email());
    const elapsed = Date.now() - started;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5000);
  });

  test('a refused connection is retryable', async () => {
    server = await startSmtpServer();
    const port = server.port;
    await server.close();
    server = undefined;
    const err = await sendError(
      new SmtpProvider({ host: '127.0.0.1', port, from: 'hello@qimu.example.com' }),
    );
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('htmlToText', () => {
  test('paragraphs, line breaks, links with their URL, entities, no head or style', () => {
    const html = `<!doctype html>
<html lang="en"><head><title>x</title><style>p { color: red }</style></head>
  <body style="margin:0">
    <p>Hi Li,</p>
    <p>Last week we set aside a coupon (code <strong>BACK-8K2Q</strong>),
       and it expires soon.</p>
    <p>
      <a href="https://qimu.example.com/new?utm_source=email&amp;utm_campaign=x"
         style="display:inline-block">See what's new this season</a>
    </p>
    <p>Thanks,<br>Qimu Home</p>
    <ul><li>Free delivery</li><li>30-day returns &amp; more</li></ul>
    <p style="font-size:12px">Me &gt; Message settings &#x2014; &#169;</p>
  </body>
</html>`;
    expect(htmlToText(html)).toBe(
      [
        'Hi Li,',
        '',
        'Last week we set aside a coupon (code BACK-8K2Q), and it expires soon.',
        '',
        "See what's new this season (https://qimu.example.com/new?utm_source=email&utm_campaign=x)",
        '',
        'Thanks,',
        'Qimu Home',
        '',
        '- Free delivery',
        '- 30-day returns & more',
        '',
        'Me > Message settings — ©',
      ].join('\n'),
    );
  });

  test('a link whose text is its URL is shown once; &amp;lt; stays &lt;', () => {
    expect(htmlToText('<a href="https://x.example/a">https://x.example/a</a> &amp;lt;')).toBe(
      'https://x.example/a &lt;',
    );
  });
});

describe('smtp through the delivery worker', () => {
  const closeAfterTest = closeAfterEach();

  test('greylisted (451) then accepted: one email per key, queued twice and again after', async () => {
    const server = closeAfterTest(
      await startSmtpServer({
        rcpt: (_, attempt) => (attempt === 1 ? reply(451, 'Greylisted, try again later') : undefined),
      }),
    );
    const harness = closeAfterTest(
      await startDeliveryHarness('email', {
        type: 'smtp',
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        from: 'Qimu Home <hello@qimu.example.com>',
        socketTimeoutMs: 2000,
      }),
    );
    const message = email();
    const { first, again } = await queueTwiceThenAgain(harness, message);
    expect(first.state).toBe('completed');
    expect(first.job.attemptsMade).toBe(2);
    expect(again.job.returnvalue).toBe('already-sent');
    expect(server.recipients).toHaveLength(2);
    expect(server.mails).toHaveLength(1);
    expect(server.mails[0]!.headers.get('message-id')).toBe(
      messageIdFor(message.idempotencyKey, 'qimu.example.com'),
    );
  });

  test('550 mailbox unavailable fails the job at once; touch `failed`', async () => {
    const server = closeAfterTest(await startSmtpServer({ rcpt: () => reply(550, 'Mailbox unavailable') }));
    const harness = closeAfterTest(
      await startDeliveryHarness('email', {
        type: 'smtp',
        host: '127.0.0.1',
        port: server.port,
        from: 'hello@qimu.example.com',
      }),
    );
    const { job, state, touchError } = await queueOnce(harness, email());
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(touchError).toContain('550');
    expect(server.recipients).toHaveLength(1);
  });
});
