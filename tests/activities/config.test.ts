import { rm } from 'node:fs/promises';
import path from 'node:path';
import { readConfigFile } from '../../config/config-file';
import {
  integrationTargets,
  loadIntegrationsConfig,
  parseIntegrationsConfig,
} from '../../config/integrations';
import { buildRenderContext } from '../../messages/context';
import { loadTemplates } from '../../messages/templates';
import { loadRulesConfig } from '../../rules/config';
import { writeTree } from './support';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A config file with this YAML; returns its path. */
async function configFile(yaml: string): Promise<string> {
  const dir = await writeTree({ 'touchpoint.yaml': yaml }, 'tp-config-');
  dirs.push(dir);
  return path.join(dir, 'touchpoint.yaml');
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('config file: webhooks and notify sections', () => {
  test('parses targets with defaults, ${ENV} headers and durations', async () => {
    process.env.TP_TEST_SUPPLY_TOKEN = 'tok';
    process.env.TP_TEST_ROBOT_KEY = 'rk';
    try {
      const file = await configFile(`
channels: {}
webhooks:
  supply-chain:
    url: http://erp.example/alerts
    headers: { Authorization: "Bearer \${TP_TEST_SUPPLY_TOKEN}" }
    timeout: 5s
  plain: { url: https://x.example/h }
notify:
  service-team: { type: wecom-robot, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=\${TP_TEST_ROBOT_KEY}", mentionedList: ["@all"] }
  ops-hook: { type: webhook, url: "http://ops.example/hook", timeout: 2500 }
rules:
  journeys: { maxPerCustomer: 3 }
`);
      const config = loadIntegrationsConfig(file);
      expect(config.webhooks).toEqual({
        'supply-chain': {
          url: 'http://erp.example/alerts',
          headers: { Authorization: 'Bearer tok' },
          timeoutMs: 5000,
        },
        plain: { url: 'https://x.example/h', headers: {}, timeoutMs: 10_000 },
      });
      expect(config.notify).toEqual({
        'service-team': {
          type: 'wecom-robot',
          url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=rk',
          mentionedList: ['@all'],
          timeoutMs: 10_000,
        },
        'ops-hook': { type: 'webhook', url: 'http://ops.example/hook', headers: {}, timeoutMs: 2500 },
      });
      expect(integrationTargets(config)).toEqual({
        webhookTargets: ['plain', 'supply-chain'],
        notifyTargets: ['ops-hook', 'service-team'],
      });
      expect(loadRulesConfig(file).journeys?.maxPerCustomer).toBe(3);
      // A kind without targets is not checked: a config written for other sections stays usable.
      expect(integrationTargets({ webhooks: {}, notify: config.notify })).toEqual({
        notifyTargets: ['ops-hook', 'service-team'],
      });
    } finally {
      delete process.env.TP_TEST_SUPPLY_TOKEN;
      delete process.env.TP_TEST_ROBOT_KEY;
    }
  });

  test('touchpoint.example.yaml has valid webhooks and notify sections', () => {
    const env = { SUPPLY_CHAIN_TOKEN: 's', WECOM_SERVICE_ROBOT_KEY: 'k', OPS_HOOK_TOKEN: 'o' };
    Object.assign(process.env, env);
    try {
      const config = loadIntegrationsConfig(path.join(__dirname, '../../touchpoint.example.yaml'));
      expect(Object.keys(config.webhooks).length).toBeGreaterThan(0);
      expect(Object.keys(config.notify).length).toBeGreaterThan(0);
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
  });

  test('no file, no sections or empty sections: nothing configured', async () => {
    expect(loadIntegrationsConfig()).toEqual({ webhooks: {}, notify: {} });
    expect(loadIntegrationsConfig(await configFile('channels: {}\n'))).toEqual({ webhooks: {}, notify: {} });
    expect(loadIntegrationsConfig(await configFile('webhooks:\nnotify:\n'))).toEqual({
      webhooks: {},
      notify: {},
    });
  });

  test('every bad field is reported with file, line and column', async () => {
    delete process.env.TP_TEST_UNSET;
    const file = await configFile(`webhooks:
  supply-chain:
    url: not a url
    headers: { Authorization: "Bearer \${TP_TEST_UNSET}" }
    timeout: 2m
  ok: { url: "http://ok.example", retries: 3 }
notify:
  service-team: { type: wecom, url: "https://qyapi.example" }
  "bad name!": { type: webhook, url: "http://x.example" }
  slow: { type: webhook, url: "http://x.example", timeout: soon }
`);
    const message = errorOf(() => loadIntegrationsConfig(file));
    expect(message.split('\n')[0]).toBe(`${file}: invalid configuration`);
    expect(message).toContain(`${file}:3:5: webhooks.supply-chain.url: expected an http(s) URL`);
    expect(message).toContain(
      `${file}:4:16: webhooks.supply-chain.headers.Authorization: environment variable TP_TEST_UNSET is not set`,
    );
    expect(message).toContain(`${file}:5:5: webhooks.supply-chain.timeout: at most 30s`);
    expect(message).toMatch(new RegExp(`${file}:6:3: webhooks\\.ok: .*retries`));
    expect(message).toContain(
      `${file}:8:19: notify.service-team.type: expected \`type: wecom-robot\` or \`type: webhook\``,
    );
    expect(message).toContain(`${file}:9:3: notify.bad name!: a target name is letters`);
    expect(message).toContain(`${file}:10:51: notify.slow.timeout: "soon" is not a duration`);
  });

  test('unknown sections are still refused, the new ones accepted', async () => {
    const file = await configFile('webhooks: {}\nnotify: {}\nwebhook: {}\n');
    expect(errorOf(() => readConfigFile(file))).toBe(
      `${file}: unknown section \`webhook\` (expected channels, rules, webhooks, notify, identity, profiles, segments, approvals)`,
    );
  });

  test('parseIntegrationsConfig without a file reports paths only', () => {
    const message = errorOf(() => parseIntegrationsConfig({ webhooks: { a: { url: 'ftp://x' } } }));
    expect(message).toBe('config: invalid configuration\n  webhooks.a.url: expected an http(s) URL');
  });
});

describe('templates/notify', () => {
  test('notify templates load and render as plain text (no HTML escaping), with layouts optional', async () => {
    const dir = await writeTree(
      {
        'notify/alert.zh-CN.hbs': '客户 {{customer.name}} 投诉：{{event.text}}',
        'notify/alert.en.hbs': 'Complaint from {{customer.name}}',
        'sms/hi.en.hbs': 'hi',
      },
      'tp-templates-',
    );
    dirs.push(dir);
    const store = loadTemplates(dir);
    expect(store.has('notify', 'alert', 'zh-CN')).toBe(true);
    expect(store.list().filter((t) => t.channel === 'notify')).toHaveLength(2);
    const context = buildRenderContext({
      customerId: 'c1',
      traits: { name: '<b>Li & Co</b>' },
      event: { event: 'complaint', properties: { text: '"坏了"' } },
      journey: { id: 'j', name: 'J', version: 1 },
    });
    expect(store.render('notify', 'alert', 'zh-CN', context).body).toBe('客户 <b>Li & Co</b> 投诉："坏了"');
    expect(store.render('notify', 'alert', 'fr', context, { defaultLocale: 'zh-CN' }).locale).toBe('zh-CN');
  });

  test('a misspelt folder is still refused, suggesting notify', async () => {
    const dir = await writeTree({ 'notfy/alert.en.hbs': 'x' }, 'tp-templates-');
    dirs.push(dir);
    expect(errorOf(() => loadTemplates(dir))).toMatch(/unknown channel folder `notfy` .*notify/);
  });
});
