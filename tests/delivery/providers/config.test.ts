import path from 'node:path';
import { loadRulesConfig } from '../../../rules/config';
import { loadChannelConfig } from '../../../delivery/channel-config';
import { useConfigDir } from '../support';

describe('provider configuration (loadChannelConfig)', () => {
  const { configFile } = useConfigDir({
    SMS_GATEWAY_PASSWORD: 'sms-pass',
    SMTP_PASSWORD: 'smtp-pass',
    SMTP_PORT: '2525',
    WECOM_CORP_ID: 'ww0123',
    WECOM_CONTACT_SECRET: 'wecom-secret',
    WECOM_AGENT_ID: '1000002',
    MP_APP_ID: 'wx81161b1e0fcac95c',
    MP_APP_SECRET: 'mp-secret',
    CRM_WEBHOOK_TOKEN: 'crm-token',
  });

  test('touchpoint.example.yaml is valid, secrets taken from the environment', () => {
    const channels = loadChannelConfig(path.join(__dirname, '../../../touchpoint.example.yaml'));
    expect(channels.sms.provider).toMatchObject({
      type: 'sms-gateway',
      auth: { type: 'basic', username: 'qimu', password: 'sms-pass' },
      success: { field: 'code', equals: ['0'] },
      errorCodes: { permanent: ['1001', '1002', '1003'], retryable: ['9001'] },
    });
    expect(channels.email.provider).toMatchObject({ type: 'smtp', auth: { pass: 'smtp-pass' } });
    expect(channels.wecom.provider).toMatchObject({
      type: 'wecom',
      corpId: 'ww0123',
      corpSecret: 'wecom-secret',
    });
    expect(channels.miniprogram.provider).toMatchObject({ type: 'miniprogram', appSecret: 'mp-secret' });
    expect(channels.webhook.provider).toMatchObject({ type: 'webhook' });
    const rules = loadRulesConfig(path.join(__dirname, '../../../touchpoint.example.yaml'));
    expect(rules.frequencyCaps.perChannel.sms).toEqual({ day: 1, week: 3 });
    expect(rules.quietHours).toEqual({ start: '21:00', end: '09:00', action: 'delay' });
  });

  test('sms-gateway: codes written as numbers are text, a single `equals` a list', async () => {
    const file = await configFile(`
channels:
  sms:
    provider:
      type: sms-gateway
      url: "https://sms.example.com/send?to={{to}}"
      method: GET
      body: { fields: { msg: "{{body}}", n: 1 } }
      success: { status: [200, 202], field: result.code, equals: 0 }
      errorCodes: { permanent: [1001, "E_BLACKLIST"], otherwise: permanent }
      idempotencyHeader: false
`);
    expect(loadChannelConfig(file).sms.provider).toEqual({
      type: 'sms-gateway',
      url: 'https://sms.example.com/send?to={{to}}',
      method: 'GET',
      body: { fields: { msg: '{{body}}', n: 1 } },
      success: { status: [200, 202], field: 'result.code', equals: ['0'] },
      errorCodes: { permanent: ['1001', 'E_BLACKLIST'], otherwise: 'permanent' },
      idempotencyHeader: false,
    });
  });

  test.each([
    [
      'an unknown placeholder',
      'body: { fields: { content: "{{text}}" } }',
      /channels\.sms\.provider\.body\.fields\.content: unknown placeholder \{\{text\}\}/,
    ],
    [
      '`field` without `equals`',
      'success: { field: code }',
      /channels\.sms\.provider\.success: `field` and `equals` go together/,
    ],
    [
      'a nested form field',
      'body: { format: form, fields: { user: { id: "{{customerId}}" } } }',
      /channels\.sms\.provider\.body\.fields\.user: a form field holds text/,
    ],
    [
      'error codes with nowhere to read them',
      'errorCodes: { permanent: ["1"] }',
      /errorCodes\.field: where is the code/,
    ],
    ['a timeout past the lease', 'timeoutMs: 600000', /channels\.sms\.provider\.timeoutMs/],
  ])('sms-gateway: %s is an error naming its path', async (_, line, error) => {
    const file = await configFile(`
channels:
  sms:
    provider:
      type: sms-gateway
      url: https://sms.example.com/send
      ${line}
`);
    expect(() => loadChannelConfig(file)).toThrow(error);
  });

  test('smtp: port from the environment, password secret; a From without address is an error', async () => {
    const file = await configFile(`
channels:
  email:
    provider:
      type: smtp
      host: 127.0.0.1
      port: \${SMTP_PORT}
      auth: { user: mailer, pass: "\${SMTP_PASSWORD}" }
      from: Qimu Home <hello@qimu.example.com>
`);
    expect(loadChannelConfig(file).email.provider).toEqual({
      type: 'smtp',
      host: '127.0.0.1',
      port: 2525,
      auth: { user: 'mailer', pass: 'smtp-pass' },
      from: 'Qimu Home <hello@qimu.example.com>',
    });

    const bad = await configFile(`
channels:
  email:
    provider: { type: smtp, host: smtp.example.com, from: Qimu Home }
`);
    expect(() => loadChannelConfig(bad)).toThrow(/channels\.email\.provider\.from: expected an address/);
  });

  test('wecom: member sends need an agent id; the agent id may come from the environment', async () => {
    const missing = await configFile(`
channels:
  wecom:
    provider: { type: wecom, corpId: ww1, corpSecret: s, send: member }
`);
    expect(() => loadChannelConfig(missing)).toThrow(
      /channels\.wecom\.provider\.agentId: required when `send: member`/,
    );

    const file = await configFile(`
channels:
  wecom:
    provider: { type: wecom, corpId: "\${WECOM_CORP_ID}", corpSecret: "\${WECOM_CONTACT_SECRET}", send: member, agentId: "\${WECOM_AGENT_ID}" }
`);
    expect(loadChannelConfig(file).wecom.provider).toEqual({
      type: 'wecom',
      corpId: 'ww0123',
      corpSecret: 'wecom-secret',
      send: 'member',
      agentId: 1000002,
    });
  });

  test('miniprogram: a template entry with an unknown key, and a missing secret, are errors', async () => {
    const file = await configFile(`
channels:
  miniprogram:
    provider:
      type: miniprogram
      appId: wx1
      appSecret: "\${MP_NOT_SET}"
      templates:
        reminder: { templateId: abc, path: pages/index }
`);
    expect(() => loadChannelConfig(file)).toThrow(
      /channels\.miniprogram\.provider\.appSecret: environment variable MP_NOT_SET/,
    );
    expect(() => loadChannelConfig(file)).toThrow(
      /channels\.miniprogram\.provider\.templates\.reminder: Unrecognized key: "path"/,
    );
  });
});
