import {strict as assert} from 'node:assert';
import {
  decodeLockValue,
  encodeLockValue,
  expirySeconds,
  lockCacheKey,
} from '../../shared/stores/memcached/lock-value';

describe('WEAK lock values', () => {
  const now = Date.UTC(2026, 10, 26);
  const cases: [string, number | undefined, number][] = [
    ['no steal time: never expires (0)', undefined, 0],
    ['0 ms: one second, never 0', 0, 1],
    ['250 ms: two seconds, so a clock tick cannot expire it early', 250, 2],
    ['1,000 ms', 1000, 2],
    ['1,001 ms', 1001, 3],
    [
      '30 days less a second: still relative',
      (30 * 24 * 3600 - 2) * 1000,
      30 * 24 * 3600 - 1,
    ],
    [
      '31 days: an absolute Unix time, as memcached reads large values',
      31 * 24 * 3600 * 1000,
      now / 1000 + 31 * 24 * 3600 + 1,
    ],
    ['beyond 2106: never', 1e13, 0],
  ];
  for (const [what, stealAfterMs, expected] of cases) {
    it(`expiry for ${what}`, () =>
      assert.equal(expirySeconds(stealAfterMs, now), expected));
  }

  it('keys fit memcached: printable, no spaces, far under 250 bytes, for any identifier', () => {
    const key = lockCacheKey('lock:', `${'锁'.repeat(500)} with spaces\n`);
    assert.match(key, /^lock:[0-9a-f]{64}$/);
  });

  it('values round-trip, and foreign values decode as not-a-lock', () => {
    const record = {
      identifier: 'a b',
      token: 't',
      acquiredAt: new Date(now),
      expiresAt: new Date(now + 5),
    };
    assert.deepEqual(decodeLockValue(encodeLockValue(record)), record);
    assert.equal(decodeLockValue(Buffer.from('not json')), null);
    assert.equal(decodeLockValue(Buffer.from('{"token": 5}')), null);
  });
});
