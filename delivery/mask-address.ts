/**
 * An address shown to operators (dead letters, touch audit) with enough left to recognise it
 * and not enough to use it:
 * - a phone number keeps all but the four digits before the last four: `+86138****8000`;
 * - an email keeps the first letter and the domain: `w***@example.com`;
 * - anything else (WeCom ids, openIds, customer ids) keeps two characters at each end.
 */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address[0]}***${address.slice(at)}`;
  if (/^\+?[\d\s-]{7,}$/.test(address)) return maskPhone(address.replace(/[\s-]/g, ''));
  if (address.length <= 6) return '***';
  return `${address.slice(0, 2)}***${address.slice(-2)}`;
}

function maskPhone(phone: string): string {
  if (phone.length < 9) return `${'*'.repeat(phone.length - 2)}${phone.slice(-2)}`;
  return `${phone.slice(0, -8)}****${phone.slice(-4)}`;
}
