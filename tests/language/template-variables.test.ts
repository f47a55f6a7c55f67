import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHandlebars } from '../../messages/compile';
import { HELPER_NAMES } from '../../messages/helpers';
import { loadTemplates } from '../../messages/templates';
import { templateVariables, variableList } from '../../messages/variables';

const hb = createHandlebars();
const helpers = new Set(HELPER_NAMES);

/** The variables of a template source, in catalog form (`path?` = only used guarded). */
function vars(source: string, partials: Record<string, string> = {}, locals?: string[]): string[] {
  const partial = (name: string) => (name in partials ? hb.parse(partials[name]!) : undefined);
  return variableList(
    templateVariables(hb.parse(source), { helpers, partial, ...(locals ? { locals } : {}) }),
  );
}

describe('templateVariables', () => {
  it('collects context paths, leaving helpers and literals out', () => {
    expect(
      vars(
        'Hi {{customer.name}}, {{money coupon.value coupon.currency decimals=0}} {{date event.at "short"}}',
      ),
    ).toEqual(['customer.name', 'coupon.value', 'coupon.currency', 'event.at']);
    expect(vars('{{json customer.id}} {{lookup coupons "welcome"}} {{{traits.note}}}')).toEqual([
      'customer.id',
      'coupons',
      'traits.note',
    ]);
    expect(vars('{{coupons.[birthday-coupon].code}} {{coupons.birthday-coupon.value}}')).toEqual([
      'coupons.birthday-coupon.code',
      'coupons.birthday-coupon.value',
    ]);
    expect(
      vars('{{timezone}} {{locale}} {{unsubscribeUrl}} {{this.journey.name}} {{@root.journey.id}}'),
    ).toEqual(['timezone', 'locale', 'unsubscribeUrl', 'journey.name', 'journey.id']);
    expect(vars('plain text {{! a comment }} {{"literal"}} {{42}}')).toEqual([]);
  });

  it('marks uses guarded by #if / #unless / #with / default (by root, and by coupon step)', () => {
    expect(
      vars('{{#if coupon.code}}券码{{coupon.code}}，{{coupon.value}}元{{else}}{{customer.name}}{{/if}}'),
    ).toEqual(['coupon.code?', 'coupon.value?', 'customer.name']);
    expect(vars('{{#unless coupon}}none{{else}}{{coupon.code}}{{/unless}} {{coupon.code}}')).toEqual(
      ['coupon', 'coupon.code'].map((p) => (p === 'coupon' ? 'coupon?' : p)),
    );
    expect(vars('{{default customer.nickname customer.name "朋友"}}')).toEqual([
      'customer.nickname?',
      'customer.name?',
    ]);
    expect(vars('{{#if coupons.a}}{{coupons.a.code}}{{coupons.b.code}}{{/if}}')).toEqual([
      'coupons.a?',
      'coupons.a.code?',
      'coupons.b.code',
    ]);
    expect(vars('{{#if customer.vip}}{{#if coupon}}{{coupon.code}}{{/if}}{{/if}}')).toEqual([
      'customer.vip?',
      'coupon?',
      'coupon.code?',
    ]);
  });

  it('follows #with into its context, and leaves #each and block params alone', () => {
    expect(vars('{{#with coupon}}{{code}} {{../customer.name}}{{/with}}')).toEqual([
      'coupon?',
      'coupon.code?',
      'customer.name',
    ]);
    expect(
      vars(
        '{{#each event.items as |item i|}}{{item.sku}} {{i}} {{sku}} {{@index}} {{../customer.name}}{{/each}}',
      ),
    ).toEqual(['event.items', 'customer.name']);
    expect(vars('{{#each event.items}}{{sku}}{{else}}{{customer.name}}{{/each}}')).toEqual([
      'event.items',
      'customer.name',
    ]);
    // `../` does not count #if, which keeps the context (Handlebars 4).
    expect(vars('{{#with event}}{{#if title}}{{../customer.name}}{{/if}}{{/with}}')).toEqual([
      'event?',
      'event.title?',
      'customer.name',
    ]);
  });

  it('walks partials where they are included, with their arguments as local names', () => {
    const partials = {
      sig: 'Bye {{customer.name}} {{salutation}}',
      brand: 'Qimu',
      loop: '{{> loop}}{{event.x}}',
    };
    expect(vars('{{> brand}} {{> sig salutation="Hi"}}', partials)).toEqual(['customer.name']);
    expect(vars('{{#if customer.name}}{{> sig}}{{/if}}', partials)).toEqual(['customer.name?', 'salutation']);
    expect(vars('{{> sig this}}', partials)).toEqual(['customer.name', 'salutation']);
    expect(vars('{{> sig customer}}', partials)).toEqual([
      'customer',
      'customer.customer.name',
      'customer.salutation',
    ]);
    expect(vars('{{> loop}}', partials)).toEqual(['event.x']);
    expect(vars('{{#*inline "x"}}{{coupon.code}}{{/inline}}{{> x}}')).toEqual(['coupon.code']);
    expect(vars('{{> missing}}')).toEqual([]);
  });

  it('reads partials that were compiled already (Handlebars adds `this` as their context)', () => {
    const compiled = hb.parse('{{journey.name}}{{> inner}}');
    const inner = hb.parse('{{customer.name}}');
    hb.compile(compiled)({}, { partials: { inner: () => '' } });
    const uses = templateVariables(hb.parse('{{> outer}}'), {
      helpers,
      partial: (name) => (name === 'outer' ? compiled : name === 'inner' ? inner : undefined),
    });
    expect(variableList(uses)).toEqual(['journey.name', 'customer.name']);
  });

  it('a layout’s own names (body, subject) are not context variables', () => {
    expect(vars('<title>{{subject}}</title>{{{body}}}{{locale}}', {}, ['body', 'subject'])).toEqual([
      'locale',
    ]);
  });
});

describe('TemplateStore.variables', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-vars-'));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write('_partials/footer.hbs', '{{#if unsubscribeUrl}}{{unsubscribeUrl}}{{/if}}{{journey.name}}');
    write('_layouts/email.en.hbs', '<title>{{subject}}</title>{{{body}}}{{> footer}}');
    write('email/offer.en.hbs', '---\nsubject: "{{customer.name}}, for you"\n---\n{{coupon.code}}');
    write('sms/plain.en.hbs', '{{event.title}}');
    write('notify/alert.en.hbs', '{{customer.id}}: {{event.review}}');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('includes the subject, the layout and its partials; undefined for a template that does not exist', () => {
    const store = loadTemplates(dir);
    expect(store.variables('email', 'offer', 'en')).toEqual([
      'customer.name',
      'coupon.code',
      'unsubscribeUrl?',
      'journey.name',
    ]);
    expect(store.variables('sms', 'plain', 'en')).toEqual(['event.title']);
    expect(store.variables('notify', 'alert', 'en')).toEqual(['customer.id', 'event.review']);
    expect(store.variables('sms', 'plain', 'zh-CN')).toBeUndefined();
  });
});
