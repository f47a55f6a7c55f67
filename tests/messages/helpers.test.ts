import { loadTemplates } from '../../messages/templates';
import { contextFor, templateDir, type TemplateDir } from './support';

let t: TemplateDir;
beforeEach(() => {
  t = templateDir();
});
afterEach(() => t.remove());

/** Renders `source` as a push body in each locale given (the template exists in zh-CN and en). */
function render(source: string, context = contextFor(), locale = 'zh-CN'): string {
  t.write('push/t.zh-CN.hbs', source);
  t.write('push/t.en.hbs', source);
  return loadTemplates(t.dir).render('push', 't', locale, context).body;
}

const COUPON = {
  code: 'QM8D-2KXA-7HTB',
  campaign: 'dormant-reactivation',
  value: 50,
  currency: 'CNY',
  expiresAt: '2026-05-15T02:00:00.000Z', // 10:00 in Shanghai, 19:00 the day before in Los Angeles
};
const withCoupon = (traits: Record<string, unknown> = {}) =>
  contextFor(traits, {}, { coupons: { 'exclusive-coupon': COUPON } });

describe('money', () => {
  it('formats CNY by default, for the locale of the template used', () => {
    expect(render('{{money 299}}')).toBe('¥299.00');
    expect(render('{{money 299}}', contextFor(), 'en')).toBe('CN¥299.00');
    expect(render('{{money event.total}}', contextFor({}, { total: '1299.5' }))).toBe('¥1,299.50');
  });

  it('takes the currency as the second argument, and RMB as CNY', () => {
    expect(render('{{money 1299.5 "USD"}}')).toBe('US$1,299.50');
    expect(render('{{money 1299.5 "USD"}}', contextFor(), 'en')).toBe('$1,299.50');
    expect(render('{{money 1299.5 "jpy"}}', contextFor(), 'en')).toBe('¥1,300');
    expect(render('{{money 8.5 "RMB"}}')).toBe('¥8.50');
    expect(render('{{money coupon.value coupon.currency}}', withCoupon(), 'en')).toBe('CN¥50.00');
  });

  it('fixes the decimals with decimals=N', () => {
    expect(render('{{money coupon.value decimals=0}}', withCoupon())).toBe('¥50');
    expect(render('{{money 49.9 decimals=0}}')).toBe('¥50');
    expect(render('{{money 3 "USD" decimals=3}}', contextFor(), 'en')).toBe('$3.000');
  });

  it('renders nothing for a missing or non-numeric amount, and the code after the number for an unknown currency', () => {
    expect(render('[{{money event.total}}][{{money "lots"}}][{{money traits.tier}}]')).toBe('[][][]');
    expect(render('{{money 12 "yuan"}}', contextFor(), 'en')).toBe('12.00 YUAN');
  });
});

describe('date', () => {
  it('shows a time in the customer’s time zone, default Asia/Shanghai, in the template’s locale', () => {
    const source =
      '{{date coupon.expiresAt}}|{{date coupon.expiresAt "short"}}|{{date coupon.expiresAt "time"}}';
    expect(render(source, withCoupon())).toBe('2026年5月15日|2026/5/15|10:00');
    expect(render(source, withCoupon(), 'en')).toBe('May 15, 2026|5/15/2026|10:00 AM');
    const inLosAngeles = withCoupon({ timezone: 'America/Los_Angeles' });
    expect(render(source, inLosAngeles, 'en')).toBe('May 14, 2026|5/14/2026|7:00 PM');
  });

  it('takes luxon tokens, the datetime format and a zone override', () => {
    expect(render('{{date coupon.expiresAt "M月d日 HH:mm"}}', withCoupon())).toBe('5月15日 10:00');
    expect(render('{{date coupon.expiresAt "datetime"}}', withCoupon())).toBe('2026年5月15日 10:00');
    expect(render('{{date coupon.expiresAt "yyyy-MM-dd HH:mm" zone="Europe/Berlin"}}', withCoupon())).toBe(
      '2026-05-15 04:00',
    );
  });

  it('reads epoch seconds and milliseconds, and a date alone as that calendar day anywhere', () => {
    const properties = { at: 1778810400, atMs: 1778810400000, atText: '1778810400', day: '2026-05-15' };
    const la = contextFor({ timezone: 'America/Los_Angeles' }, properties);
    expect(
      render(
        '{{date event.at "HH:mm"}} {{date event.atMs "HH:mm"}} {{date event.atText "HH:mm"}}',
        contextFor({}, properties),
      ),
    ).toBe('10:00 10:00 10:00');
    expect(render('{{date event.day "long"}}', la, 'en')).toBe('May 15, 2026');
  });

  it('reads a date-time without an offset as UTC; an invalid zone trait falls back to Shanghai', () => {
    const properties = { at: '2026-05-15T02:00:00' };
    expect(render('{{date event.at "HH:mm"}}', contextFor({ timezone: 'Mars/Olympus' }, properties))).toBe(
      '10:00',
    );
  });

  it('renders nothing for a missing or unreadable value', () => {
    expect(render('[{{date event.missing}}][{{date "next tuesday"}}][{{date traits}}]')).toBe('[][][]');
  });
});

describe('default', () => {
  it('gives the first value that is present', () => {
    const source = '{{default customer.nickname customer.name "朋友"}}';
    expect(render(source, contextFor({ name: '李娜' }))).toBe('李娜');
    expect(render(source, contextFor({ nickname: '娜娜', name: '李娜' }))).toBe('娜娜');
    expect(render(source, contextFor({ name: '   ' }))).toBe('朋友');
    expect(render(source, contextFor({ name: null }))).toBe('朋友');
    expect(render(source)).toBe('朋友');
  });

  it('keeps 0 and false, and renders nothing when every candidate is missing', () => {
    expect(
      render(
        '{{default event.count 5}}|{{default event.flag true}}',
        contextFor({}, { count: 0, flag: false }),
      ),
    ).toBe('0|false');
    expect(render('[{{default customer.a customer.b}}]')).toBe('[]');
  });

  it('is HTML-escaped in email bodies like any value', () => {
    t.write('email/t.zh-CN.hbs', '<p>{{default customer.name "朋友"}}</p>');
    const body = loadTemplates(t.dir).render('email', 't', 'zh-CN', contextFor({ name: '<b>Li</b>' })).body;
    expect(body).toBe('<p>&lt;b&gt;Li&lt;/b&gt;</p>');
  });
});

describe('missing traits and the render context', () => {
  it('renders missing values as empty text, never "undefined" or "null", in bodies and subjects', () => {
    t.write(
      'push/gaps.zh-CN.hbs',
      '---\nsubject: "[{{customer.name}}]"\n---\n[{{customer.name}}][{{customer.address.city}}][{{traits.x.y.z}}][{{event.none}}][{{coupon.code}}][{{lookup customer "tier"}}]',
    );
    const rendered = loadTemplates(t.dir).render('push', 'gaps', 'zh-CN', contextFor({ name: null }));
    expect(rendered).toEqual({ subject: '[]', body: '[][][][][][]', locale: 'zh-CN' });
  });

  it('carries the locale actually used and the customer’s time zone, inside blocks too', () => {
    t.write(
      'sms/where.en.hbs',
      '{{locale}} {{timezone}} {{#each event.items}}{{money this}} {{/each}}{{#with coupon}}{{date expiresAt "short"}}{{/with}}',
    );
    const context = contextFor({ timezone: 'Asia/Tokyo' }, { items: [1, 2] }, { coupons: { c: COUPON } });
    // ja has no template: en is used, and the helpers format for en.
    expect(loadTemplates(t.dir).render('sms', 'where', 'ja', context).body).toBe(
      'en Asia/Tokyo CN¥1.00 CN¥2.00 5/15/2026',
    );
  });

  it('knows the helpers at load and still refuses unknown ones', () => {
    const file = t.write('sms/typo.en.hbs', 'Hi\n{{monye 5}}');
    expect(t.loadErrors().issues).toEqual([
      {
        file,
        line: 2,
        message: 'unknown helper `monye`',
        hint: 'available helpers: if, unless, each, with, lookup, json, money, date, default',
      },
    ]);
  });
});
