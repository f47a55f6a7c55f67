import path from 'node:path';
import { loadTemplates } from '../../messages/templates';
import { contextFor, templateDir, type TemplateDir } from './support';

let t: TemplateDir;
beforeEach(() => {
  t = templateDir();
});
afterEach(() => t.remove());

const customer = contextFor({ name: 'Li & <Na>' });

describe('partials', () => {
  it('are usable by name in every template, inline or on a line of their own', () => {
    t.write('_partials/brand.hbs', 'Qimu Home\n');
    t.write('_partials/sign-off.hbs', '— {{> brand}}\n\n');
    t.write('sms/inline.en.hbs', '{{> brand}}: hi {{customer.name}}. Reply TD to opt out');
    t.write('wecom/lines.en.hbs', 'Hi\n{{> sign-off}}\nSee you\n  {{> brand}}\nBye\n{{> brand}}\n');
    const store = loadTemplates(t.dir);
    expect(store.render('sms', 'inline', 'en', customer).body).toBe(
      'Qimu Home: hi Li & <Na>. Reply TD to opt out',
    );
    expect(store.render('wecom', 'lines', 'en', customer).body).toBe(
      'Hi\n— Qimu Home\nSee you\n  Qimu Home\nBye\nQimu Home',
    );
  });

  it('take the template’s locale: <name>.<locale>, then its language, then <name>', () => {
    t.write('_partials/brand.zh-CN.hbs', '栖木家居');
    t.write('_partials/brand.en.hbs', 'Qimu Home');
    t.write('_partials/opt-out.zh.hbs', '退订回TD');
    t.write('_partials/opt-out.hbs', 'Reply TD to opt out');
    for (const locale of ['zh-CN', 'en', 'en-GB']) {
      t.write(`sms/offer.${locale}.hbs`, '【{{> brand}}】{{> opt-out}}');
    }
    const store = loadTemplates(t.dir);
    const body = (locale: string) => store.render('sms', 'offer', locale, customer).body;
    expect(body('zh-CN')).toBe('【栖木家居】退订回TD');
    expect(body('en')).toBe('【Qimu Home】Reply TD to opt out');
    expect(body('en-GB')).toBe('【Qimu Home】Reply TD to opt out');
    // zh-TW has no brand of its own nor of its language; `brand` has no locale-free version.
    t.write('sms/offer.zh-TW.hbs', '【{{> brand}}】{{> opt-out}}');
    expect(t.loadErrors().issues).toEqual([
      expect.objectContaining({
        file: path.join(t.dir, 'sms/offer.zh-TW.hbs'),
        line: 1,
        message: 'Handlebars: The partial brand could not be found',
        hint: 'for zh-TW, expected templates/_partials/brand.zh-TW.hbs or _partials/brand.hbs',
      }),
    ]);
  });

  it('are escaped as the template using them is, get the current context and hash arguments', () => {
    t.write('_partials/greeting.hbs', '{{salutation}} {{name}}');
    const source =
      '---\nsubject: \'{{#with customer}}{{> greeting salutation="Hi"}}{{/with}}\'\n---\n<p>{{#with customer}}{{> greeting salutation="Hi"}}{{/with}}</p>';
    t.write('email/t.en.hbs', source);
    t.write('sms/t.en.hbs', source);
    const store = loadTemplates(t.dir);
    expect(store.render('email', 't', 'en', customer)).toMatchObject({
      subject: 'Hi Li & <Na>',
      body: '<p>Hi Li &amp; &lt;Na&gt;</p>',
    });
    expect(store.render('sms', 't', 'en', customer).body).toBe('<p>Hi Li & <Na></p>');
  });

  it('report a missing partial at the line that includes it, in templates and in partials', () => {
    const outer = t.write('_partials/outer.hbs', 'a\n{{> inner}}');
    t.write('_partials/used.hbs', 'ok');
    const sms = t.write('sms/t.en.hbs', 'one\n{{> used}}\n{{> footr}}');
    const push = t.write(
      'push/t.en.hbs',
      '---\nsubject: "{{> outer}}"\n---\n{{#if x}}\n  {{> outer}}\n{{/if}}',
    );
    const dynamic = t.write('webhook/t.en.hbs', '{{> (lookup event "partial")}}');
    const block = t.write(
      'wecom/t.en.hbs',
      '{{#*inline "mine"}}x{{/inline}}{{> mine}}{{#> missing}}fallback{{/missing}}',
    );
    expect(t.loadErrors().issues).toEqual([
      {
        file: outer,
        line: 2,
        message: 'Handlebars: The partial inner could not be found',
        hint: expect.any(String),
      },
      {
        file: sms,
        line: 3,
        message: 'Handlebars: The partial footr could not be found',
        hint: expect.any(String),
      },
      {
        file: dynamic,
        line: 1,
        message: 'a partial name must be written out: `{{> name}}`',
        hint: expect.any(String),
      },
      {
        file: block,
        line: 1,
        message: 'Handlebars: The partial missing could not be found',
        hint: expect.any(String),
      },
    ]);
    expect(push).toBeDefined(); // its problem is the partial's, reported once in outer.hbs
  });

  it('report their own syntax errors, unknown helpers and bad names', () => {
    const syntax = t.write('_partials/broken.hbs', 'x\n{{#if a}}');
    const helper = t.write('_partials/helper.hbs', '{{shout x}}');
    const badName = t.write('_partials/Brand.hbs', 'x');
    const nested = t.write('_partials/sub/x.hbs', 'x');
    expect(t.loadErrors().issues).toEqual([
      expect.objectContaining({ file: badName, message: expect.stringMatching(/is named `<name>.hbs`/) }),
      expect.objectContaining({
        file: syntax,
        line: 2,
        message: expect.stringMatching(/^Handlebars syntax error/),
      }),
      expect.objectContaining({ file: helper, line: 1, message: 'unknown helper `shout`' }),
      expect.objectContaining({ file: path.dirname(nested), message: expect.stringMatching(/is named/) }),
    ]);
  });
});

describe('layouts', () => {
  const LAYOUT =
    '<html lang="{{locale}}"><title>{{subject}}</title>\n<body>\n{{{body}}}\n{{#if unsubscribeUrl}}<a href="{{unsubscribeUrl}}">{{> unsubscribe}}</a>{{/if}}\n</body></html>\n';

  it('wrap every body of their channel and locale, with the subject and the unsubscribe link', () => {
    t.write('_layouts/email.en.hbs', LAYOUT);
    t.write('_partials/unsubscribe.en.hbs', 'Unsubscribe');
    t.write(
      'email/offer.en.hbs',
      '---\nsubject: "For {{customer.name}}"\n---\n<p>Hi {{customer.name}}</p>\n',
    );
    t.write('sms/offer.en.hbs', 'not wrapped');
    const store = loadTemplates(t.dir);
    const withLink = { ...customer, unsubscribeUrl: 'https://t.example/u?c=1&t=x' };
    expect(store.render('email', 'offer', 'en', withLink)).toEqual({
      subject: 'For Li & <Na>',
      body:
        '<html lang="en"><title>For Li &amp; &lt;Na&gt;</title>\n<body>\n<p>Hi Li &amp; &lt;Na&gt;</p>\n' +
        '<a href="https://t.example/u?c&#x3D;1&amp;t&#x3D;x">Unsubscribe</a>\n</body></html>',
      locale: 'en',
    });
    expect(store.render('email', 'offer', 'en', customer).body).not.toContain('<a href');
    expect(store.render('sms', 'offer', 'en', customer).body).toBe('not wrapped');
  });

  it('are chosen by the front matter, or turned off with layout: none', () => {
    t.write('_layouts/email.hbs', 'DEFAULT[{{{body}}}]');
    t.write('_layouts/promo.zh-CN.hbs', '促销[{{{body}}}]');
    t.write('_layouts/promo.en.hbs', 'PROMO[{{{body}}}]');
    t.write('_layouts/signed.hbs', '{{{body}}}\n{{> brand}}');
    t.write('_partials/brand.zh.hbs', '栖木家居');
    t.write('email/plain.zh-CN.hbs', 'a');
    t.write('email/promo.zh-CN.hbs', '---\nlayout: promo\n---\nb');
    t.write('email/own.zh-CN.hbs', '---\nlayout: none\n---\n<html>c</html>');
    t.write('sms/signed.zh-CN.hbs', '---\nlayout: signed\n---\n您好');
    const store = loadTemplates(t.dir);
    const body = (channel: 'email' | 'sms', name: string) =>
      store.render(channel, name, 'zh-CN', customer).body;
    expect(body('email', 'plain')).toBe('DEFAULT[a]');
    expect(body('email', 'promo')).toBe('促销[b]');
    expect(body('email', 'own')).toBe('<html>c</html>');
    expect(body('sms', 'signed')).toBe('您好\n栖木家居');
  });

  it('count towards the channel limits', () => {
    t.write('_layouts/sms.hbs', '【栖木家居】{{{body}}}退订回TD');
    t.write('sms/long.zh-CN.hbs', '{{event.text}}');
    const store = loadTemplates(t.dir);
    expect(store.render('sms', 'long', 'zh-CN', contextFor({}, { text: '字'.repeat(50) })).body).toHaveLength(
      61,
    );
    expect(() => store.render('sms', 'long', 'zh-CN', contextFor({}, { text: '字'.repeat(195) }))).toThrow(
      /4 SMS parts/,
    );
  });

  it('report a missing layout named in front matter, a layout without the body, and bad layout keys', () => {
    t.write('_layouts/promo.en.hbs', 'PROMO[{{{body}}}]');
    const noBody = t.write('_layouts/email.hbs', '<html>{{subject}}</html>');
    const missing = t.write('email/a.zh-CN.hbs', '---\nsubject: Hi\nlayout: promo\n---\nbody');
    const badKey = t.write('email/b.en.hbs', '---\nlayout: 42\n---\nbody');
    const partial = t.write('_layouts/sms.hbs', '{{{body}}}{{> footer}}');
    t.write('sms/c.en.hbs', 'x');
    expect(t.loadErrors().issues).toEqual([
      {
        file: noBody,
        message: 'a layout must place the message body',
        hint: 'write `{{{body}}}` where the body goes',
      },
      {
        file: missing,
        line: 3,
        message: 'no layout `promo` for zh-CN',
        hint: 'expected templates/_layouts/promo.zh-CN.hbs or _layouts/promo.hbs; available: email, promo, sms',
      },
      expect.objectContaining({ file: badKey, line: 2, message: expect.stringMatching(/^`layout` must be/) }),
      expect.objectContaining({
        file: partial,
        line: 1,
        message: 'Handlebars: The partial footer could not be found',
      }),
    ]);
  });
});

describe('the shipped templates', () => {
  const shipped = loadTemplates(path.join(__dirname, '../../templates'));

  it('wrap the emails in the brand layout, with the unsubscribe link when there is one', () => {
    const link = 'https://qimu.example.com/u/abc';
    const zh = shipped.render('email', 'dormant-last-chance', 'zh-CN', {
      ...contextFor({ name: '李娜' }),
      unsubscribeUrl: link,
    });
    expect(zh.body).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
    expect(zh.body).toContain('<title>李娜，为您留的回归礼遇即将结束</title>');
    expect(zh.body).toContain('<p>李娜，您好：</p>');
    expect(zh.body).toContain('<br>栖木家居</p>');
    expect(zh.body).toContain(`<a href="${link}" style="color:#999">点此退订</a>`);
    const en = shipped.render('email', 'dormant-last-chance', 'en', contextFor());
    expect(en.body).toMatch(/<html lang="en">[\s\S]*<br>Qimu Home<\/p>[\s\S]*Message settings/);
    expect(en.body.match(/<html/g)).toHaveLength(1);
  });
});
