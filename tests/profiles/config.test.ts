import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadProfilesConfig, parseProfilesConfig } from '../../customers/profiles-config';

describe('the config file’s `profiles:` section', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tp-profiles-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };

  test('defaults for everything', () => {
    const config = parseProfilesConfig(undefined);
    expect(config.orders).toEqual({
      event: ['order_completed'],
      amount: ['total', 'amount'],
      category: 'category',
      orderId: 'orderId',
    });
    expect(config.rfm).toMatchObject({
      schedule: { cron: '0 3 * * *', timezone: 'Asia/Shanghai' },
      recency: [30, 90, 180, 365],
      frequency: 'quantile',
      monetary: 'quantile',
      otherGroup: 'others',
    });
    expect(config.rfm.groups.map((g) => g.name)).toEqual([
      'high-value',
      'new',
      'potential',
      'at-risk',
      'dormant',
    ]);
    expect(config.lifecycle.stages.map((s) => s.stage)).toEqual(['loyalty', 'purchase', 'interest']);
    expect(config.lifecycle.default).toBe('awareness');
    expect(config.sensitive).toEqual(['phone', 'email', 'idNumber']);
    expect(loadProfilesConfig(file('empty.yaml', 'rules: {}\n'))).toEqual(config);
    expect(loadProfilesConfig(file('null.yaml', 'profiles:\n'))).toEqual(config);
  });

  test('a full section is read as written', () => {
    const config = loadProfilesConfig(
      file(
        'full.yaml',
        `profiles:
  orders:
    event: [purchase, pos_sale]
    amount: order.total
  rfm:
    schedule: { cron: '0 2 * * *', timezone: Europe/Berlin }
    recency: quantile
    frequency: [2, 3, 5, 10]
    groups:
      - name: champions
        when: { all: [{ trait: rfmR, eq: 5 }, { trait: rfmF, eq: 5 }] }
    otherGroup: rest
  lifecycle:
    stages:
      - stage: member
        when: { tag: member }
    default: visitor
  sensitive: [phone, passport]
`,
      ),
    );
    expect(config.orders.event).toEqual(['purchase', 'pos_sale']);
    expect(config.orders.amount).toEqual(['order.total']);
    expect(config.rfm.frequency).toEqual([2, 3, 5, 10]);
    expect(config.rfm.groups).toEqual([
      {
        name: 'champions',
        when: {
          all: [
            { trait: 'rfmR', eq: 5 },
            { trait: 'rfmF', eq: 5 },
          ],
        },
      },
    ]);
    expect(config.sensitive).toEqual(['phone', 'passport']);
  });

  test('the shipped example config is valid', () => {
    const config = loadProfilesConfig(path.join(__dirname, '../../touchpoint.example.yaml'));
    expect(config.rfm.recency).toEqual([30, 90, 180, 365]);
    expect(config.orders.event).toEqual(['order_completed']);
  });

  test('every bad field is reported with file:line:column', () => {
    const bad = file(
      'bad.yaml',
      `profiles:
  rfm:
    schedule:
      cron: every day
      timezone: Mars/Base
    monetary: [100, 50, 200, 300]
    groups:
      - name: big spenders
        when: { property: total, gt: 5 }
  sensitive: [phone, orderCount]
  extra: 1
`,
    );
    let message = '';
    try {
      loadProfilesConfig(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${bad}: invalid configuration`);
    expect(message).toContain(`${bad}:4:7: profiles.rfm.schedule.cron: a cron expression has five fields`);
    expect(message).toContain(`${bad}:5:7: profiles.rfm.schedule.timezone: must be an IANA time zone`);
    expect(message).toContain(`${bad}:6:5: profiles.rfm.monetary: the cut points must ascend`);
    expect(message).toContain(`${bad}:8:9: profiles.rfm.groups.0.name: a name is letters`);
    expect(message).toContain(
      `${bad}:9:9: profiles.rfm.groups.0.when: groups and stages see traits (and tags) only`,
    );
    expect(message).toContain(`${bad}:10:3: profiles.sensitive: computed traits cannot be sensitive`);
    expect(message).toContain(`${bad}:11:3: profiles.extra: unknown field \`extra\``);
  });
});
