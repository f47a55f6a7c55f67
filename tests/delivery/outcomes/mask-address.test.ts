import { maskAddress } from '../../../delivery/mask-address';

test.each([
  ['+8613800138000', '+86138****8000'],
  ['+1 555-000-1234', '+155****1234'],
  ['13800138000', '138****8000'],
  ['wang@example.com', 'w***@example.com'],
  ['a@b.cn', 'a***@b.cn'],
  ['wm-external-user-0042', 'wm***42'],
  ['oXyz', '***'],
])('%s → %s', (address, masked) => {
  expect(maskAddress(address)).toBe(masked);
});
