import { ContentTooLongError } from '../../messages/errors';
import { measureContent } from '../../messages/limits';
import { smsLength } from '../../messages/sms-length';
import { loadTemplates } from '../../messages/templates';
import { contextFor, templateDir, type TemplateDir } from './support';

describe('smsLength', () => {
  it('counts GSM-7 text as 160 characters in one message, 153 per part after that', () => {
    expect(smsLength('')).toEqual({ encoding: 'GSM-7', chars: 0, parts: 0 });
    expect(smsLength('a'.repeat(160))).toEqual({ encoding: 'GSM-7', chars: 160, parts: 1 });
    expect(smsLength('a'.repeat(161))).toEqual({ encoding: 'GSM-7', chars: 161, parts: 2 });
    expect(smsLength('a'.repeat(306))).toEqual({ encoding: 'GSM-7', chars: 306, parts: 2 });
    expect(smsLength('a'.repeat(307))).toEqual({ encoding: 'GSM-7', chars: 307, parts: 3 });
    expect(smsLength('Price: ¥299 @ Qimu Home! Reply TD').encoding).toBe('GSM-7');
  });

  it('counts the GSM extension characters twice and never splits one across parts', () => {
    expect(smsLength('€'.repeat(80))).toEqual({ encoding: 'GSM-7', chars: 160, parts: 1 });
    expect(smsLength('{}'.repeat(41))).toEqual({ encoding: 'GSM-7', chars: 164, parts: 2 });
    // 306 septets would fit two parts, but the € cannot straddle them.
    expect(smsLength(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toEqual({
      encoding: 'GSM-7',
      chars: 306,
      parts: 3,
    });
  });

  it('sends anything else (Chinese, curly quotes, full-width ￥) as UCS-2: 70 in one, 67 per part', () => {
    expect(smsLength('字'.repeat(70))).toEqual({ encoding: 'UCS-2', chars: 70, parts: 1 });
    expect(smsLength('字'.repeat(71))).toEqual({ encoding: 'UCS-2', chars: 71, parts: 2 });
    expect(smsLength('字'.repeat(201))).toEqual({ encoding: 'UCS-2', chars: 201, parts: 3 });
    expect(smsLength('字'.repeat(202))).toEqual({ encoding: 'UCS-2', chars: 202, parts: 4 });
    // One Chinese character turns the whole message into UCS-2.
    expect(smsLength(`${'a'.repeat(100)}好`)).toEqual({ encoding: 'UCS-2', chars: 101, parts: 2 });
    expect(smsLength('Here’s your coupon').encoding).toBe('UCS-2');
    expect(smsLength('￥50').encoding).toBe('UCS-2');
  });

  it('counts an emoji outside the BMP as two and never splits it', () => {
    expect(smsLength('🌿')).toEqual({ encoding: 'UCS-2', chars: 2, parts: 1 });
    expect(smsLength(`${'字'.repeat(68)}🌿`)).toEqual({ encoding: 'UCS-2', chars: 70, parts: 1 });
    expect(smsLength(`${'字'.repeat(66)}🌿${'字'.repeat(66)}`)).toEqual({
      encoding: 'UCS-2',
      chars: 134,
      parts: 3,
    });
  });
});

describe('limits at render', () => {
  let t: TemplateDir;
  beforeEach(() => {
    t = templateDir();
  });
  afterEach(() => t.remove());

  const text = (value: string) => contextFor({}, { text: value });

  function renderError(run: () => unknown): ContentTooLongError {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(ContentTooLongError);
      return err as ContentTooLongError;
    }
    throw new Error('expected ContentTooLongError');
  }

  it('refuses an SMS of more than 3 parts, carrying the rendered text', () => {
    t.write('sms/long.zh-CN.hbs', '【栖木家居】{{event.text}}');
    const store = loadTemplates(t.dir);
    expect(store.render('sms', 'long', 'zh-CN', text('字'.repeat(195))).body).toHaveLength(201);
    const err = renderError(() => store.render('sms', 'long', 'zh-CN', text('字'.repeat(196))));
    expect(err).toMatchObject({
      code: 'content_too_long',
      channel: 'sms',
      template: 'long',
      rendered: { body: `【栖木家居】${'字'.repeat(196)}`, locale: 'zh-CN' },
      exceeded: { field: 'body', unit: 'parts', limit: 3, actual: 4 },
    });
    expect(err.message).toBe(
      'sms/long (zh-CN) is too long: 202 UCS-2 characters make 4 SMS parts; at most 3 are allowed',
    );
  });

  it('takes other limits as options', () => {
    t.write('sms/short.en.hbs', '{{event.text}}');
    const store = loadTemplates(t.dir, { limits: { smsMaxParts: 1 } });
    expect(store.render('sms', 'short', 'en', text('a'.repeat(160))).body).toHaveLength(160);
    expect(
      renderError(() => store.render('sms', 'short', 'en', text('a'.repeat(161)))).exceeded,
    ).toMatchObject({
      limit: 1,
      actual: 2,
    });
  });

  it('refuses a WeCom text over 2048 bytes of UTF-8', () => {
    t.write('wecom/invite.zh-CN.hbs', '{{event.text}}');
    const store = loadTemplates(t.dir);
    expect(store.render('wecom', 'invite', 'zh-CN', text('字'.repeat(682))).body).toHaveLength(682); // 2046 bytes
    expect(
      renderError(() => store.render('wecom', 'invite', 'zh-CN', text('字'.repeat(683)))).exceeded,
    ).toEqual({
      field: 'body',
      unit: 'bytes',
      limit: 2048,
      actual: 2049,
      message: 'the text is 2049 bytes (UTF-8); WeCom takes at most 2048',
    });
  });

  it('checks mini-program subscription fields by type when the body is `field: value` lines', () => {
    t.write(
      'miniprogram/reminder.zh-CN.hbs',
      'thing1: {{event.text}}\nphrase2: {{event.status}}\ntime3: 2026年5月15日 10:00',
    );
    t.write('miniprogram/plain.zh-CN.hbs', '{{event.text}}');
    const store = loadTemplates(t.dir);
    const context = (properties: Record<string, unknown>) => contextFor({}, properties);
    const reminder = (properties: Record<string, unknown>) =>
      store.render('miniprogram', 'reminder', 'zh-CN', context(properties));
    expect(reminder({ text: '字'.repeat(20), status: '待付款' }).body).toContain('thing1');
    expect(renderError(() => reminder({ text: '字'.repeat(21), status: '待付款' })).exceeded).toEqual({
      field: 'thing1',
      unit: 'chars',
      limit: 20,
      actual: 21,
      message: 'mini-program field thing1 has 21 characters; its type takes at most 20',
    });
    const phrase = renderError(() => reminder({ text: '方案', status: '已经付款了' + '呀' }));
    expect(phrase.exceeded).toMatchObject({ field: 'phrase2', limit: 5, actual: 6 });
    // Plain text (for the outbox or a webhook) has no fields to check.
    expect(
      store.render('miniprogram', 'plain', 'zh-CN', context({ text: '字'.repeat(300) })).body,
    ).toHaveLength(300);
  });

  it('runs checks given as options: the hook for other channels', () => {
    t.write('push/t.en.hbs', '---\nsubject: "{{event.text}}"\n---\nbody');
    const store = loadTemplates(t.dir, {
      checks: {
        push: ({ subject = '' }) =>
          subject.length > 10
            ? {
                field: 'subject',
                unit: 'chars',
                limit: 10,
                actual: subject.length,
                message: 'title too long',
              }
            : undefined,
      },
    });
    expect(store.render('push', 't', 'en', text('short')).subject).toBe('short');
    expect(renderError(() => store.render('push', 't', 'en', text('much too long'))).exceeded.field).toBe(
      'subject',
    );
  });

  it('measures messages as their channel counts them', () => {
    expect(measureContent('sms', { body: '你好 Li' })).toEqual({ encoding: 'UCS-2', chars: 5, parts: 1 });
    expect(measureContent('wecom', { body: '你好 🌿' })).toEqual({ chars: 4, parts: 1, bytes: 11 });
    expect(measureContent('email', { subject: 'x', body: '<p>hi</p>' })).toEqual({ chars: 9, parts: 1 });
    expect(measureContent('push', { body: '' })).toEqual({ chars: 0, parts: 0 });
  });

  it('lets every shipped template render with typical values', () => {
    const shipped = loadTemplates(`${__dirname}/../../templates`);
    for (const { channel, name, locale } of shipped.list()) {
      expect(() =>
        shipped.render(
          channel,
          name,
          locale,
          contextFor(
            { name: '李娜' },
            { title: '奶油风客厅这样搭', groupBuyUrl: 'https://qimu.example.com/g/abc123' },
          ),
        ),
      ).not.toThrow();
    }
  });
});
