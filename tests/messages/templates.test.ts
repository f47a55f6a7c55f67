import path from 'node:path';
import { buildRenderContext } from '../../messages/context';
import { TemplateNotFoundError } from '../../messages/errors';
import { loadTemplates } from '../../messages/templates';
import { templateDir, type TemplateDir } from './support';

let t: TemplateDir;
beforeEach(() => {
  t = templateDir();
});
afterEach(() => t.remove());

const context = buildRenderContext({
  customerId: 'c-42',
  traits: { name: 'Tom & "Jerry" <b>', tier: 'gold', id: 'trait-id' },
  event: { event: 'content_viewed', properties: { title: 'Sofa & Co', name: 'property-name' } },
  journey: { id: 'browse-intent', name: 'Browse intent', version: 3 },
});

describe('render', () => {
  it('personalises with customer traits, event properties and the journey', () => {
    t.write(
      'push/hello.en.hbs',
      'Hi {{customer.name}} ({{traits.tier}}, {{customer.id}}): {{event.title}} via {{event.name}} in {{journey.id}} v{{journey.version}}\n',
    );
    expect(loadTemplates(t.dir).render('push', 'hello', 'en', context)).toEqual({
      body: 'Hi Tom & "Jerry" <b> (gold, c-42): Sofa & Co via content_viewed in browse-intent v3',
      locale: 'en',
    });
  });

  it('HTML-escapes email bodies but not subjects, SMS, push, WeCom, mini-program or webhook', () => {
    const text = '---\nsubject: "Hi {{customer.name}}"\n---\n<p>{{customer.name}}</p>\n';
    for (const channel of ['email', 'sms', 'push', 'wecom', 'miniprogram', 'webhook'])
      t.write(`${channel}/t.en.hbs`, text);
    const store = loadTemplates(t.dir);
    expect(store.render('email', 't', 'en', context)).toEqual({
      subject: 'Hi Tom & "Jerry" <b>',
      body: '<p>Tom &amp; &quot;Jerry&quot; &lt;b&gt;</p>',
      locale: 'en',
    });
    for (const channel of ['sms', 'push', 'wecom', 'miniprogram', 'webhook'] as const) {
      expect(store.render(channel, 't', 'en', context).body).toBe('<p>Tom & "Jerry" <b></p>');
    }
  });

  // `}}}` would read as a triple-stash, hence the space before the object's closing brace.
  it('quotes webhook JSON values with the json helper', () => {
    t.write(
      'webhook/alert.en.hbs',
      '{"customer": {{json customer.id}}, "title": {{json event.title}}, "none": {{json event.missing}} }',
    );
    const body = loadTemplates(t.dir).render('webhook', 'alert', 'en', context).body;
    expect(JSON.parse(body)).toEqual({ customer: 'c-42', title: 'Sofa & Co', none: null });
  });

  it('falls back from the requested locale to its language, the journey default, then en', () => {
    t.write('sms/offer.zh-CN.hbs', '中文');
    t.write('sms/offer.en.hbs', 'English');
    t.write('sms/offer.fr.hbs', 'Français');
    const store = loadTemplates(t.dir);
    const pick = (locale: string | undefined, defaultLocale?: string) =>
      store.render('sms', 'offer', locale, context, { defaultLocale }).locale;
    expect(pick('zh-CN')).toBe('zh-CN');
    expect(pick('zh-cn')).toBe('zh-CN'); // case-insensitive, reports the file's spelling
    expect(pick('fr-CA')).toBe('fr');
    expect(pick('ja', 'zh-CN')).toBe('zh-CN');
    expect(pick('ja')).toBe('en');
    expect(pick(undefined, 'zh-CN')).toBe('zh-CN');
    expect(store.render('sms', 'offer', 'ja', context, { defaultLocale: 'zh-CN' }).body).toBe('中文');
  });

  it('throws TemplateNotFoundError naming the locales it tried', () => {
    t.write('sms/offer.zh-CN.hbs', '中文');
    const store = loadTemplates(t.dir);
    expect(() => store.render('sms', 'offer', 'ja-JP', context)).toThrow(TemplateNotFoundError);
    expect(() => store.render('sms', 'offer', 'ja-JP', context)).toThrow(
      'no template sms/offer in any of the locales ja-JP, ja, en',
    );
    expect(() => store.render('push', 'offer', 'zh-CN', context)).toThrow(TemplateNotFoundError);
  });

  it('resolves nothing through prototypes', () => {
    const attempts = [
      '{{constructor.constructor}}',
      '{{customer.constructor.name}}',
      '{{customer.__proto__}}',
      '{{customer.__proto__.polluted}}',
      '{{lookup customer "constructor"}}',
      '{{lookup this "__proto__"}}',
      '{{#with customer}}{{constructor}}{{toString}}{{hasOwnProperty}}{{/with}}',
      '{{#with "text" as |s|}}{{s.constructor.name}}{{s.toString}}{{/with}}',
      '{{#each customer}}{{/each}}{{customer.name.constructor}}',
    ];
    attempts.forEach((source, i) => t.write(`sms/attack-${i}.en.hbs`, `[${source}]`));
    // Handlebars reports each denied lookup once on console.error; keep it out of the test output.
    const denied = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const store = loadTemplates(t.dir);
      attempts.forEach((_source, i) => {
        expect(store.render('sms', `attack-${i}`, 'en', context).body).toBe('[]');
      });
    } finally {
      denied.mockRestore();
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lets identity win over a trait or property of the same name', () => {
    t.write('sms/ids.en.hbs', '{{customer.id}} {{traits.id}} {{event.name}}');
    expect(loadTemplates(t.dir).render('sms', 'ids', 'en', context).body).toBe(
      'c-42 trait-id content_viewed',
    );
  });

  it('renders missing values as empty text and trims the trailing newlines of bodies', () => {
    t.write(
      'sms/gaps.en.hbs',
      'Code: {{event.couponCode}}{{#if event.couponCode}}!{{else}} in your account{{/if}}\n\n\n',
    );
    expect(loadTemplates(t.dir).render('sms', 'gaps', 'en', context).body).toBe('Code:  in your account');
  });
});

describe('loadTemplates', () => {
  it('implements the catalog: has() and fileFor()', () => {
    const file = t.write('wecom/invite.zh-CN.hbs', '邀请');
    const store = loadTemplates(t.dir);
    expect(store.has('wecom', 'invite', 'zh-CN')).toBe(true);
    expect(store.has('wecom', 'invite', 'zh-cn')).toBe(true);
    expect(store.has('wecom', 'invite', 'en')).toBe(false);
    expect(store.has('sms', 'invite', 'zh-CN')).toBe(false);
    expect(store.fileFor('wecom', 'invite', 'zh-CN')).toBe(file);
    expect(store.fileFor('wecom', 'invite', 'en')).toBe(path.join(t.dir, 'wecom/invite.en.hbs'));
    expect(store.list()).toEqual([{ channel: 'wecom', name: 'invite', locale: 'zh-CN', file }]);
  });

  it('reports bad Handlebars with file and line, counting front matter lines', () => {
    const unclosed = t.write('sms/unclosed.en.hbs', 'line one\nline two {{customer.name\n');
    const mismatch = t.write(
      'email/mismatch.en.hbs',
      '---\nsubject: Hello\n---\n<p>\n{{#if customer.name}}\n{{/each}}\n',
    );
    const badSubject = t.write('push/subject.en.hbs', '---\nsubject: "Hi {{#if x}}"\n---\nbody\n');
    const helper = t.write('sms/helper.en.hbs', 'a\nb\n{{log customer}} {{> partial}}\n');
    const partial = t.write('sms/partial.en.hbs', '{{> footer}}');
    const issues = t.loadErrors().issues;
    expect(issues).toEqual([
      expect.objectContaining({ file: mismatch, line: 5, message: "Handlebars: if doesn't match each" }),
      expect.objectContaining({ file: badSubject, line: 2, message: expect.stringMatching(/^Handlebars/) }),
      {
        file: helper,
        line: 3,
        message: 'unknown helper `log`',
        hint: expect.stringMatching(/if, unless, each/),
      },
      expect.objectContaining({
        file: partial,
        message: 'Handlebars: The partial footer could not be found',
      }),
      expect.objectContaining({
        file: unclosed,
        line: 2,
        message: expect.stringMatching(/^Handlebars syntax error: Expecting/),
      }),
    ]);
  });

  it('reports bad front matter, file names and folders', () => {
    const typo = t.write('email/typo.en.hbs', '---\nsubjct: Hello\n---\nbody');
    const unquoted = t.write('email/unquoted.en.hbs', '---\nsubject: {{customer.name}}\n---\nbody');
    const unclosed = t.write('email/unclosed.en.hbs', '---\nsubject: Hello\nbody');
    const badName = t.write('sms/Offer.zh-CN.hbs', 'x');
    const noLocale = t.write('sms/offer.hbs', 'x');
    const folder = t.write('wechat/offer.en.hbs', 'x');
    const loose = t.write('offer.en.hbs', 'x');
    t.write('README.md', 'notes are ignored');
    t.write('sms/.gitkeep', '');
    const issues = t.loadErrors().issues;
    expect(issues).toEqual([
      { file: typo, line: 2, message: 'unknown front matter key `subjct`', hint: 'did you mean `subject`?' },
      expect.objectContaining({
        file: unclosed,
        line: 1,
        message: 'front matter opened with `---` is never closed',
      }),
      expect.objectContaining({
        file: unquoted,
        line: 2,
        message: '`subject` must be text',
        hint: expect.stringMatching(/quote/),
      }),
      expect.objectContaining({ file: loose, message: 'templates go in a channel folder' }),
      expect.objectContaining({ file: badName, message: 'a template file is named `<name>.<locale>.hbs`' }),
      expect.objectContaining({ file: noLocale, message: 'a template file is named `<name>.<locale>.hbs`' }),
      expect.objectContaining({ file: path.dirname(folder), message: 'unknown channel folder `wechat`' }),
    ]);
    expect(t.loadErrors().message).toContain(
      `${typo}:2: unknown front matter key \`subjct\` (did you mean \`subject\`?)`,
    );
  });

  it('reports two files for the same template and locale', () => {
    t.write('sms/offer.zh-CN.hbs', 'a');
    const second = t.write('sms/offer.zh-cn.hbs', 'b');
    expect(t.loadErrors().issues).toEqual([
      expect.objectContaining({
        file: second,
        message: expect.stringMatching(/^same template and locale as /),
      }),
    ]);
  });
});
