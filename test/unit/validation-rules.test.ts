import {strict as assert} from 'node:assert';
import {inspect} from 'node:util';
import {LockError} from '../../shared/core/errors';
import {
  databaseIdOption,
  durationOption,
  envDatabaseId,
  envWholeNumber,
  isMemcacheServerList,
  isPortNumber,
  leaseOption,
  memcacheKeyPrefixOption,
  parseDurationText,
  positiveDuration,
  validateIdentifier,
  wholeNumberOption,
} from '../../shared/validation';

/** A rule applied to one input: its result, or the INVALID_ARGUMENT message it refuses with. */
const rows: [string, () => unknown, unknown | RegExp][] = [
  ['durationOption 0', () => durationOption('waitForMs', 0), 0],
  [
    'durationOption absent',
    () => durationOption('waitForMs', undefined),
    undefined,
  ],
  [
    'durationOption -1',
    () => durationOption('waitForMs', -1),
    /^waitForMs must be a number of milliseconds from 0 to 1000000000000, got -1$/,
  ],
  [
    'durationOption NaN',
    () => durationOption('waitForMs', Number.NaN),
    /got NaN/,
  ],
  ['durationOption "5"', () => durationOption('waitForMs', '5'), /got string/],
  ['leaseOption 100', () => leaseOption(100), 100],
  [
    'leaseOption 99',
    () => leaseOption(99),
    /^leaseMs must be a number of milliseconds from 100 to/,
  ],
  [
    'positiveDuration 0',
    () => positiveDuration('rpcTimeoutMs', 0),
    /^rpcTimeoutMs must be > 0, got 0$/,
  ],
  [
    'positiveDuration absent',
    () => positiveDuration('rpcTimeoutMs', undefined),
    /rpcTimeoutMs must be > 0/,
  ],
  [
    'wholeNumberOption 0 from 0',
    () => wholeNumberOption('maxAttempts', 0, 0, 10),
    0,
  ],
  [
    'wholeNumberOption absent',
    () => wholeNumberOption('maxAttempts', undefined, 1, 3),
    3,
  ],
  // retry.maxAttempts 0.5 became 0 attempts under Math.floor; the rule refuses it.
  [
    'wholeNumberOption 0.5 from 1',
    () => wholeNumberOption('retry.maxAttempts', 0.5, 1, 3),
    /^retry\.maxAttempts must be a whole number >= 1, got 0\.5$/,
  ],
  [
    'databaseIdOption locks',
    () => databaseIdOption('databaseId', 'locks'),
    'locks',
  ],
  [
    'databaseIdOption (default)',
    () => databaseIdOption('databaseId', '(default)'),
    /databaseId must be a database id .*got "\(default\)"/,
  ],
  [
    'databaseIdOption ends with -',
    () => databaseIdOption('databaseId', 'locks-'),
    /must be a database id/,
  ],
  [
    'validateIdentifier 1,500 bytes',
    () => validateIdentifier('é'.repeat(750)),
    undefined,
  ],
  [
    'validateIdentifier 1,502 bytes',
    () => validateIdentifier('é'.repeat(751)),
    /1502 bytes of UTF-8; the limit is 1500/,
  ],
  [
    'memcacheKeyPrefixOption with a space',
    () => memcacheKeyPrefixOption('memcacheKeyPrefix', 'a b'),
    /memcacheKeyPrefix must be at most 180 printable ASCII/,
  ],
  [
    'memcacheKeyPrefixOption empty',
    () => memcacheKeyPrefixOption('memcacheKeyPrefix', ''),
    '',
  ],
  [
    'envWholeNumber unset',
    () => envWholeNumber({}, 'LOCKS_MAX_BODY_BYTES', 7),
    7,
  ],
  ['envWholeNumber empty', () => envWholeNumber({X: ''}, 'X', 7), 7],
  ['envWholeNumber 12', () => envWholeNumber({X: '12'}, 'X', 7), 12],
  [
    'envWholeNumber -1',
    () => envWholeNumber({X: '-1'}, 'X', 7),
    /^X must be a whole number >= 0, got "-1"$/,
  ],
  [
    'envWholeNumber 1.5',
    () => envWholeNumber({X: '1.5'}, 'X', 7),
    /got "1\.5"/,
  ],
  [
    'envDatabaseId (default)',
    () => envDatabaseId({X: '(default)'}, 'X'),
    undefined,
  ],
  [
    'envDatabaseId Locks',
    () => envDatabaseId({X: 'Locks'}, 'X'),
    /^X must be a database id \(4-63 of a-z.*got "Locks"$/,
  ],
  [
    'isMemcacheServerList two',
    () => isMemcacheServerList('a:1,10.0.0.4:11211'),
    true,
  ],
  [
    'isMemcacheServerList credentials',
    () => isMemcacheServerList('u:p@a:1'),
    false,
  ],
  ['parseDurationText 1.5h', () => parseDurationText('1.5h'), 5_400_000],
  ['parseDurationText 250', () => parseDurationText(' 250 '), 250],
  ['parseDurationText -1s', () => parseDurationText('-1s'), undefined],
  [
    'parseDurationText beyond 1e12 ms',
    () => parseDurationText('12000d'),
    undefined,
  ],
  ['isPortNumber 65536', () => isPortNumber(65536), false],
  ['isPortNumber 8080', () => isPortNumber(8080), true],
];

describe('validation: the rules, one table', () => {
  for (const [what, apply, expected] of rows) {
    it(`${what} → ${expected instanceof RegExp ? `INVALID_ARGUMENT ${expected.source}` : inspect(expected)}`, () => {
      if (expected instanceof RegExp)
        assert.throws(
          apply,
          (error: unknown) =>
            error instanceof LockError &&
            error.code === 'INVALID_ARGUMENT' &&
            expected.test(error.message),
        );
      else assert.deepEqual(apply(), expected);
    });
  }
});
