import { loadChannelConfig } from '../../delivery/channel-config';
import { CHANNELS } from '../../language/types';
import { useConfigDir } from './support';

const DEFAULTS = { provider: { type: 'outbox' }, concurrency: 5, attempts: 8, backoffMs: 2000 };

describe('loadChannelConfig', () => {
  const { configFile, inDir } = useConfigDir({
    TP_TEST_GATEWAY_HOST: '127.0.0.1:8099',
    TP_TEST_GATEWAY_TOKEN: 's3cret',
    TP_TEST_NOT_SET: undefined,
  });

  test('without a file every channel writes to the outbox with the defaults', () => {
    const channels = loadChannelConfig();
    expect(Object.keys(channels).sort()).toEqual([...CHANNELS].sort());
    for (const channel of CHANNELS) expect(channels[channel]).toEqual(DEFAULTS);
  });

  test('an empty file is the defaults too', async () => {
    expect(loadChannelConfig(await configFile('')).email).toEqual(DEFAULTS);
  });

  test('a webhook channel, with ${ENV} expanded in its url and headers', async () => {
    const file = await configFile(`
channels:
  sms:
    provider:
      type: webhook
      url: http://\${TP_TEST_GATEWAY_HOST}/touchpoint
      headers:
        authorization: Bearer \${TP_TEST_GATEWAY_TOKEN}
      timeoutMs: 5000
    rateLimit: { max: 50, perMs: 1000 }
    attempts: 3
  push:
    provider: { type: outbox }
`);
    const channels = loadChannelConfig(file);
    expect(channels.sms).toEqual({
      provider: {
        type: 'webhook',
        url: 'http://127.0.0.1:8099/touchpoint',
        headers: { authorization: 'Bearer s3cret' },
        timeoutMs: 5000,
      },
      rateLimit: { max: 50, perMs: 1000 },
      concurrency: 5,
      attempts: 3,
      backoffMs: 2000,
    });
    expect(channels.push).toEqual(DEFAULTS);
    expect(channels.email).toEqual(DEFAULTS);
  });

  test('an unknown key is an error naming the file, the path and the key', async () => {
    const file = await configFile(`
channels:
  sms:
    concurency: 3
`);
    expect(() => loadChannelConfig(file)).toThrow(file);
    expect(() => loadChannelConfig(file)).toThrow(/channels\.sms: Unrecognized key: "concurency"/);
  });

  test('an unknown key inside the provider names its path', async () => {
    const file = await configFile(`
channels:
  email:
    provider: { type: webhook, url: "http://127.0.0.1:1/x", timeout: 5 }
`);
    expect(() => loadChannelConfig(file)).toThrow(/channels\.email\.provider: Unrecognized key: "timeout"/);
  });

  test('a missing environment variable is an error naming it', async () => {
    const file = await configFile(`
channels:
  sms:
    provider:
      type: webhook
      url: http://127.0.0.1:1/hook
      headers: { authorization: "Bearer \${TP_TEST_NOT_SET}" }
`);
    expect(() => loadChannelConfig(file)).toThrow(
      /channels\.sms\.provider\.headers\.authorization: environment variable TP_TEST_NOT_SET is not set/,
    );
  });

  test('a webhook url must be http or https', async () => {
    const file = await configFile(`
channels:
  sms:
    provider: { type: webhook, url: "ftp://127.0.0.1/drop" }
`);
    expect(() => loadChannelConfig(file)).toThrow(/channels\.sms\.provider\.url: Invalid URL/);
  });

  test('a file that is not YAML, or not there, is an error naming the file', async () => {
    const broken = await configFile('channels: [unclosed');
    expect(() => loadChannelConfig(broken)).toThrow(broken);
    const missing = inDir('missing.yaml');
    expect(() => loadChannelConfig(missing)).toThrow(missing);
  });
});
