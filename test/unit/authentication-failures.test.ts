import { expect, it } from '@jest/globals';
import { addressKey, AuthenticationFailures, MAX_TRACKED_ADDRESSES } from '../../src/auth/authentication-failures.ts';

it('holds at most MAX_TRACKED_ADDRESSES addresses, forgetting the one that failed least recently', () => {
  const failures = new AuthenticationFailures(1);
  const address = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  for (let n = 0; n <= MAX_TRACKED_ADDRESSES; n++) failures.failed(address(n), 0);
  expect(failures.trackedAddresses).toBe(MAX_TRACKED_ADDRESSES);
  expect(failures.retryAfterSeconds(address(0), 0)).toBeNull();
  expect(failures.retryAfterSeconds(address(MAX_TRACKED_ADDRESSES), 0)).toBe(60);
});

it('refills at the rate and forgets an address once full again', () => {
  const failures = new AuthenticationFailures(60);
  for (let n = 0; n < 60; n++) failures.failed('192.0.2.1', 0);
  expect(failures.retryAfterSeconds('192.0.2.1', 0)).toBe(1);
  expect(failures.retryAfterSeconds('192.0.2.1', 1_000)).toBeNull();
  expect(failures.retryAfterSeconds('192.0.2.1', 60_000)).toBeNull();
  expect(failures.trackedAddresses).toBe(0);
});

it('counts IPv4-mapped addresses as IPv4, and IPv6 addresses by their /64', () => {
  expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
  expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
  expect(addressKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
  expect(addressKey('::1')).toBe('0:0:0:0::/64');
});
