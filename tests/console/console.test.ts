import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../../config/settings';
import { buildConsole } from '../../scripts/lib/console-build';
import { eventually } from '../support/eventually';
import {
  ADMIN_KEY,
  dormantTraits,
  enrolDormant,
  JOURNEY,
  runWhere,
  startConsoleApp,
  WRITE_KEY,
  type ConsoleApp,
} from './app';

/*
 * The web console in a real browser: Debian's chromium, headless, driven by playwright-core,
 * against Touchpoint as `npm start` runs it. Customers are put at steps of the dormant
 * reactivation journey over the API; the browser then signs in, reads the diagram with live
 * counts, versions and diff, the runs at a step and one run, removes a customer with a reason,
 * opens a timeline and the audit log, in zh-CN and en, and as an auditor and a marketer sees only
 * what those roles may. Screenshots go to tests/artifacts/console/.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(projectRoot, 'tests', 'artifacts', 'console');

/** v1 customers: waiting for an order (3), converted by an order, converted by redeeming the coupon. */
const WAITING = ['c-wang', 'c-zhao', 'c-zhou'];
const ORDERED = 'c-chen';
const REDEEMED = 'c-li';
/** Entered after v2 was published: pinned to v2. */
const ON_V2 = ['c-sun', 'c-wu'];
/** Revoked WeCom consent before entering: the invitation is skipped. */
const NO_WECOM = 'c-zhao';
const PHONE_OF_WANG = dormantTraits(1, '王芳').phone;

let app: ConsoleApp;
let browser: Browser;
let auditorKey: string;
let marketerKey: string;
const pageErrors: string[] = [];

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A fresh browser profile (no cookies) in a language, watching for script errors and CSP refusals. */
async function newContext(locale: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
      pageErrors.push(`console: ${msg.text()}`);
  });
  page.setDefaultTimeout(20_000);
  return { context, page };
}

async function signIn(page: Page, key: string) {
  await page.goto(`${app.baseUrl}/console/`);
  await page.getByTestId('api-key').fill(key);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('principal').waitFor();
}

/** Picks an option of an antd Select by its label. */
async function choose(page: Page, testId: string, label: string) {
  await page.getByTestId(testId).click();
  await page.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${label}"]`).click();
  // Closed before the next step (and before a screenshot).
  await page.locator('.ant-select-dropdown:visible').waitFor({ state: 'detached' });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`node dist/scripts/ensure-chromium.js\` (npm test does)`);
  }
  // dist/console as the sources are now (a no-op when `npm run build` just built it).
  buildConsole();
  await mkdir(ARTIFACTS, { recursive: true });
  app = await startConsoleApp();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });

  // Keys for the other roles, made by the admin through the API.
  const auditor = await app.call<{ secret: string }>('POST', '/v1/keys', {
    name: 'Ada Auditor',
    role: 'auditor',
  });
  const marketer = await app.call<{ secret: string }>('POST', '/v1/keys', {
    name: 'Mia Marketer',
    role: 'marketer',
  });
  expect([auditor.status, marketer.status]).toEqual([201, 201]);
  auditorKey = auditor.body.secret;
  marketerKey = marketer.body.secret;

  // Version 1: five customers enter; one orders, one redeems the coupon the journey issued.
  expect(
    (
      await app.call(
        'POST',
        '/v1/consent',
        { userId: NO_WECOM, channel: 'wecom', status: 'revoked' },
        WRITE_KEY,
      )
    ).status,
  ).toBe(200);
  const v1 = [...WAITING, ORDERED, REDEEMED];
  const names = ['王芳', '赵磊', '周杰', '陈静', '李娜'];
  await Promise.all(v1.map((id, i) => enrolDormant(app, id, dormantTraits(i + 1, names[i]!))));
  await Promise.all(
    v1.map((id) => runWhere(app, id, (r) => r.currentStep === 'wait-order', 'waiting for an order')),
  );
  const order = await app.call(
    'POST',
    '/v1/track',
    { userId: ORDERED, event: 'order_completed', messageId: `${ORDERED}-order`, properties: { amount: 399 } },
    WRITE_KEY,
  );
  expect(order.status).toBe(202);
  const issued = await runWhere(app, REDEEMED, (r) => r.coupons.length === 1, 'coupon issued');
  const redeem = await app.call(
    'POST',
    '/v1/coupons/redeem',
    { code: issued.coupons[0]!.code, userId: REDEEMED, orderId: 'pos-1' },
    WRITE_KEY,
  );
  expect(redeem.status).toBe(200);
  await runWhere(app, ORDERED, (r) => r.status === 'converted', 'converted by the order');
  await runWhere(app, REDEEMED, (r) => r.status === 'converted', 'converted by the redemption');

  // Version 2 (a shorter wait), published by the admin; two more customers enter on it.
  const v1Source = await app.call<{ source: string }>('GET', `/v1/journeys/${JOURNEY}/versions/1`);
  const v2Source = v1Source.body.source.replace('timeout: 7d', 'timeout: 5d');
  expect(v2Source).not.toBe(v1Source.body.source);
  const published = await app.call('POST', `/v1/journeys/${JOURNEY}/publish`, {
    source: v2Source,
    note: 'shorter wait before the last-chance email',
  });
  expect(published.status).toBe(201);
  await Promise.all(ON_V2.map((id, i) => enrolDormant(app, id, dormantTraits(10 + i, i ? '吴敏' : '孙丽'))));
  await Promise.all(
    ON_V2.map((id) =>
      runWhere(app, id, (r) => r.version === 2 && r.currentStep === 'wait-order', 'waiting on v2'),
    ),
  );

  // Visibility lags the runs by a moment: wait until the counts say what the runs say.
  await eventually(
    async () => {
      const res = await app.call<{
        versions: { version: number; steps: Record<string, number>; converted: number }[];
      }>('GET', `/v1/journeys/${JOURNEY}/counts`);
      const [one, two] = [1, 2].map((v) => res.body.versions?.find((c) => c.version === v));
      return one?.steps['wait-order'] === 3 && one.converted === 2 && two?.steps['wait-order'] === 2
        ? true
        : undefined;
    },
    60_000,
    'counts from visibility',
  );
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
}, 60_000);

afterEach(() => {
  // A script error or a CSP refusal anywhere fails the test that caused it.
  expect(pageErrors.splice(0)).toEqual([]);
});

describe('the console, signed in as admin', () => {
  let page: Page;
  let context: BrowserContext;

  beforeAll(async () => {
    // The browser prefers Chinese: the console starts in zh-CN.
    ({ context, page } = await newContext('zh-CN'));
  });
  afterAll(async () => {
    await context?.close();
  });

  test('the sign-in page follows the browser language; a wrong key is refused; the right one signs in', async () => {
    await page.goto(`${app.baseUrl}/console/journeys`);
    await expectText(page.getByTestId('sign-in-submit'), '登录');
    await shot(page, '01-sign-in-zh-CN');

    await page.getByTestId('api-key').fill('not-a-key');
    await page.getByTestId('sign-in-submit').click();
    await expectText(page.getByTestId('sign-in-error'), '密钥未被接受');
    // The key field is cleared, never kept.
    expect(await page.getByTestId('api-key').inputValue()).toBe('');

    await page.getByTestId('api-key').fill(ADMIN_KEY);
    await page.getByTestId('sign-in-submit').click();
    await expectText(page.getByTestId('principal'), 'admin');
    // The session is an HttpOnly cookie: page scripts cannot read it.
    const cookies = await context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'tp_session', httpOnly: true, sameSite: 'Strict' }),
    ]);
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  test('the journey list shows each journey with its status and version', async () => {
    const row = page.locator('tr', { has: page.getByTestId(`journey-${JOURNEY}`) });
    await expectText(row, '已发布');
    await expectText(row, 'v2');
    await expectText(page.getByTestId('journey-list'), 'browse-intent');
    await shot(page, '02-journeys-zh-CN');
  });

  test('switching to English changes every label and is remembered', async () => {
    await choose(page, 'language', 'English');
    await expectText(page.getByTestId('nav-journeys'), 'Journeys');
    await expectText(page.locator('tr', { has: page.getByTestId(`journey-${JOURNEY}`) }), 'published');
    await page.reload();
    await expectText(page.getByTestId('nav-journeys'), 'Journeys');
    await shot(page, '03-journeys-en');
  });

  test('a journey shows its diagram with live counts per step', async () => {
    await page.getByTestId(`journey-${JOURNEY}`).click();
    await page.getByTestId('diagram').locator('svg').waitFor();
    // The latest version (v2): two customers wait for an order.
    await expectText(page.getByTestId('step-count-wait-order'), '2');
    await expectText(page.getByTestId('count-entered'), '2');
    // The diagram's labels carry the counts too.
    await expectText(page.getByTestId('diagram'), 'wait-order');
    await shot(page, '04-journey-v2-en');

    await choose(page, 'version-select', 'v1');
    await expectText(page.getByTestId('step-count-wait-order'), '3');
    await expectText(page.getByTestId('count-entered'), '5');
    await expectText(page.getByTestId('count-converted'), '2');
    await page.getByTestId('diagram').locator('svg').waitFor();
    await shot(page, '05-journey-v1-en');
  });

  test('versions list who published what, and the diff shows the change', async () => {
    await page.getByTestId('tab-versions').click();
    const versions = page.getByTestId('versions');
    await expectText(versions, 'shorter wait before the last-chance email');
    await expectText(versions, 'startup');
    const diff = page.getByTestId('diff');
    await expectText(diff, '-    timeout: 7d');
    await expectText(diff, '+    timeout: 5d');
    await shot(page, '06-versions-diff-en');
  });

  test('the run explorer lists the customers at a step; a run shows its path, messages and coupon', async () => {
    await page.getByTestId('tab-overview').click();
    await choose(page, 'version-select', 'v1');
    await page.getByTestId('step-count-wait-order').click();
    const runs = page.getByTestId('runs');
    for (const id of WAITING) await runs.getByTestId(`run-${id}`).waitFor();
    await expectText(page.getByTestId('runs-shown'), '3 runs shown');
    expect(await runs.getByTestId(`run-${ORDERED}`).count()).toBe(0);
    await shot(page, '07-runs-at-step-en');

    await runs.getByTestId('run-c-wang').click();
    await expectText(page.getByTestId('current-step'), 'wait-order');
    const path = page.getByTestId('run-path');
    await expectText(path, 'exclusive-coupon');
    await expectText(path, 'offer-sms');
    // Reasons derived from the pinned version's steps.
    expect(await page.getByTestId('path-reason').count()).toBeGreaterThanOrEqual(3);
    await expectText(page.getByTestId('run-messages'), 'dormant-offer');
    await expectText(page.getByTestId('run-coupons'), 'dormant-reactivation');
    // Masked by default: the phone number the SMS went to is not on the page.
    expect(await page.locator('body').innerText()).not.toContain(PHONE_OF_WANG.slice(-8));
    const temporal = page.getByTestId('temporal-link');
    const href = await temporal.getAttribute('href');
    expect(href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\//);
    expect((await fetch(href!)).status).toBe(200);
    // The admin may reveal: the real number appears, and the read is audited (checked below).
    await page.getByTestId('reveal').click();
    await expectText(page.getByTestId('run-messages'), PHONE_OF_WANG.slice(-8));
    await page.getByTestId('reveal').click();
    await shot(page, '08-run-en');
  });

  test('removing a customer asks for a reason and ends the run', async () => {
    await page.goto(`${app.baseUrl}/console/journeys/${JOURNEY}/runs/c-zhou`);
    await page.getByTestId('op-remove').click();
    const ok = page.getByTestId('reason-ok');
    expect(await ok.isDisabled()).toBe(true);
    await page.getByTestId('reason').fill('customer asked by phone to stop');
    await shot(page, '09-remove-reason-en');
    await ok.click();
    await expectText(page.locator('.ant-page-header, .tp-page-title'), 'exited');
    const run = await runWhere(app, 'c-zhou', (r) => r.status === 'exited', 'removed');
    expect(run.currentStep).toBeNull();
  });

  test('the customer timeline shows events, steps, messages, skips and coupons across journeys', async () => {
    await page.goto(`${app.baseUrl}/console/journeys/${JOURNEY}/runs/${REDEEMED}`);
    await page.getByTestId('open-timeline').click();
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    for (const kind of ['event', 'step', 'touch', 'coupon-issued', 'coupon-redeemed'])
      await timeline.locator(`[data-kind="${kind}"]`).first().waitFor();
    await expectText(page.getByTestId('masked-note'), 'masked');
    await shot(page, '10-timeline-en');

    // Another customer, looked up from the Customers page.
    await page.getByTestId('nav-customers').click();
    await page.getByPlaceholder('Customer id').fill(NO_WECOM);
    await page.getByPlaceholder('Customer id').press('Enter');
    await expectText(page.getByTestId('timeline-title'), `Timeline of ${NO_WECOM}`);
    await page.getByTestId('timeline').locator('[data-kind="skip"]').first().waitFor();
    await page.getByTestId('timeline').locator('[data-kind="consent"]').first().waitFor();
    await expectText(page.getByTestId('timeline').locator('[data-kind="skip"]').first(), 'consent');
  });

  test('the audit log lists who changed what, filters, and verifies the chain', async () => {
    await page.getByTestId('nav-audit').click();
    const entries = page.getByTestId('audit-entries');
    await expectText(entries, 'run.remove');
    await expectText(entries, 'customer asked by phone to stop');
    await expectText(entries, 'journey.publish');
    await expectText(entries, 'key.create');
    await expectText(entries, 'personal-data.read');
    // The console's own requests are recorded as coming from the console.
    await expectText(entries.locator('tr', { hasText: 'run.remove' }), 'console');

    await page.getByTestId('filter-action').fill('run.remove');
    await page.getByTestId('filter-apply').click();
    await expectText(page.getByTestId('audit-shown'), '1 entry shown');

    await page.getByTestId('audit-verify').click();
    await expectText(page.getByTestId('audit-verification'), 'Chain intact');
    await shot(page, '11-audit-en');
  });

  test('back to Chinese: the audit log and the journey page in zh-CN', async () => {
    await choose(page, 'language', '简体中文');
    await expectText(page.getByTestId('nav-audit'), '审计日志');
    await expectText(page.getByTestId('audit-verify'), '校验哈希链');
    await shot(page, '12-audit-zh-CN');
    await page.goto(`${app.baseUrl}/console/journeys/${JOURNEY}`);
    await page.getByTestId('diagram').locator('svg').waitFor();
    await expectText(page.getByTestId('tab-overview'), '流程图与实时人数');
    await shot(page, '13-journey-zh-CN');
  });

  test('signing out ends the session', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    expect((await fetch(`${app.baseUrl}/v1/session`)).status).toBe(401);
  });
});

describe('the console for other roles', () => {
  test('an auditor sees masked data, the audit log, and no operator buttons or reveal switch', async () => {
    const { context, page } = await newContext('en-US');
    try {
      await signIn(page, auditorKey);
      await expectText(page.getByTestId('principal'), 'Ada Auditor');
      await page.getByTestId('nav-audit').waitFor();
      await page.goto(`${app.baseUrl}/console/journeys/${JOURNEY}/runs/c-wang`);
      await expectText(page.getByTestId('run-messages'), 'dormant-offer');
      const content = await page.getByTestId('message-content').first().innerText();
      expect(content).toContain('*');
      expect(await page.locator('body').innerText()).not.toContain(PHONE_OF_WANG.slice(-8));
      expect(await page.getByTestId('op-remove').count()).toBe(0);
      expect(await page.getByTestId('op-retry').count()).toBe(0);
      expect(await page.getByTestId('reveal').count()).toBe(0);
      await shot(page, '14-auditor-run-en');

      await page.goto(`${app.baseUrl}/console/customers/c-wang`);
      await page.getByTestId('timeline').locator('[data-kind="touch"]').first().waitFor();
      expect(await page.locator('body').innerText()).not.toContain(PHONE_OF_WANG.slice(-8));
      expect(await page.getByTestId('reveal').count()).toBe(0);
      await shot(page, '15-auditor-timeline-en');
    } finally {
      await context.close();
    }
  });

  test('a marketer has no audit log: not in the menu, and its page is refused', async () => {
    const { context, page } = await newContext('en-US');
    try {
      await signIn(page, marketerKey);
      await page.getByTestId('nav-journeys').waitFor();
      expect(await page.getByTestId('nav-audit').count()).toBe(0);
      await page.goto(`${app.baseUrl}/console/audit`);
      await expectText(page.locator('.ant-result'), 'Your role may not see this');
      await page.goto(`${app.baseUrl}/console/journeys/${JOURNEY}/runs/c-wang`);
      expect(await page.getByTestId('op-remove').count()).toBe(0);
      await shot(page, '16-marketer-audit-refused-en');
    } finally {
      await context.close();
    }
  });
});

describe('serving the console', () => {
  test('pages get index.html with a strict CSP, assets are cached, a missing asset is a 404', async () => {
    const index = await fetch(`${app.baseUrl}/console/journeys/${JOURNEY}/runs/c-wang`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await index.text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${app.baseUrl}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${app.baseUrl}/console/assets/missing-0000.js`)).status).toBe(404);
    const bare = await fetch(`${app.baseUrl}/console`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/console/']);
  });
});

/**
 * Waits until the element's text contains `text` (antd renders asynchronously), whitespace
 * aside: antd spaces out two-character Chinese button labels (登 录).
 */
async function expectText(locator: ReturnType<Page['locator']>, text: string) {
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  const textOf = () =>
    locator
      .first()
      .innerText()
      .catch(() => '(no element)');
  await eventually(
    async () => (squeeze(await textOf()).includes(squeeze(text)) ? true : undefined),
    20_000,
    `text ${JSON.stringify(text)}`,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}; the element says: ${(await textOf()).slice(0, 500)}`);
  });
}
