import { ContentMasker } from '../../audit/masked-content';

describe('masking rendered content', () => {
  const masker = new ContentMasker(
    [
      { name: 'phone', value: '+8613800138000' },
      { name: 'email', value: 'Wang.Fang@Example.com' },
      { name: 'name', value: '王芳' },
      { name: 'idNumber', value: 'E1234567' },
    ],
    ['wm-external-user-42'],
  );

  test("the customer's own values, in whatever spelling the template printed them", () => {
    expect(masker.text('王芳，您的手机13800138000已绑定')).toBe('***，您的手机+86 138****8000已绑定');
    expect(masker.text('call 138 0013 8000 or +86-138-0013-8000')).toBe(
      'call +86 138****8000 or +86 138****8000',
    );
    expect(masker.text('mail wang.fang@example.com now')).toBe('mail w***@example.com now');
    expect(masker.text('passport E1234567.')).toBe('passport ****4567.');
    expect(masker.text('to wm-external-user-42')).toBe('to wm***42');
  });

  test('anything that looks like personal data, whoever it belongs to', () => {
    const anyone = new ContentMasker();
    expect(anyone.text('friend: li@example.org, 13900001111, +1 212 555 0100')).toBe(
      'friend: l***@example.org, +86 139****1111, +1 212***0100',
    );
    expect(anyone.text('身份证110101199003071234号')).toBe('身份证**************1234号');
    expect(anyone.text('unsubscribe: https://tp.example/u/eyJrIjoiYWJjZGVmZ2hpamtsbW5vcCJ9.sig-123')).toBe(
      'unsubscribe: https://tp.example/u/***',
    );
  });

  test('what is not personal data stays: times, coupon codes, amounts, short numbers', () => {
    const anyone = new ContentMasker();
    const text = '券码7KQ2-M9XD-4HTB，满300元减20，2026-03-06T04:10:00.000Z 前有效，订单 12345';
    expect(anyone.text(text)).toBe(text);
  });

  test('deep: every string in objects and arrays; keys and other values as they are', () => {
    expect(
      masker.deep({
        phone: '13800138000',
        list: ['王芳', 3],
        ok: true,
        nested: { email: 'x@y.cn' },
        n: null,
      }),
    ).toEqual({
      phone: '+86 138****8000',
      list: ['***', 3],
      ok: true,
      nested: { email: 'x***@y.cn' },
      n: null,
    });
  });
});
