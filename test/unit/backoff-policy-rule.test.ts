import {strict as assert} from 'node:assert';
import {DEFAULT_WAIT_BACKOFF} from '../../shared/core/backoff';
import {resolveLockingConfig} from '../../shared/configuration/resolve-config';
import {LockError} from '../../shared/core/errors';
import {inspect} from 'node:util';
import {resolveLockedHandlerOptions} from '../../shared/pubsub/locked-handler-options';
import {backoffPolicyOption} from '../../shared/validation';

const invalid = (message: RegExp) => (error: unknown) =>
  error instanceof LockError &&
  error.code === 'INVALID_ARGUMENT' &&
  message.test(error.message);

/**
 * One rule for every backoff policy: the waiters' and retries' (configureLocking) and
 * lockedHandler's re-queues. Each row is checked against the rule itself and against every
 * option that takes a policy, so the entry points cannot drift apart again.
 */
const cases: {
  readonly policy: unknown;
  readonly expected:
    {initialMs: number; maxMs: number; multiplier: number} | RegExp;
  /** configureLocking gets the unknown-field check when config.ts uses backoffPolicyOption. */
  readonly configTooToday?: false;
}[] = [
  {policy: {}, expected: {initialMs: 20, maxMs: 250, multiplier: 2}},
  {
    policy: {initialMs: 5, maxMs: 50, multiplier: 1.5},
    expected: {initialMs: 5, maxMs: 50, multiplier: 1.5},
  },
  // A ceiling below the first step is raised to it.
  {
    policy: {initialMs: 400, maxMs: 100},
    expected: {initialMs: 400, maxMs: 400, multiplier: 2},
  },
  {
    policy: {multiplier: 1},
    expected: {initialMs: 20, maxMs: 250, multiplier: 1},
  },
  // A zero ceiling makes every delay 0: a tight loop of polls or re-queues.
  {policy: {maxMs: 0}, expected: /maxMs must be > 0/},
  {policy: {initialMs: 0}, expected: /initialMs must be > 0/},
  {policy: {multiplier: 0.5}, expected: /multiplier must be >= 1/},
  {
    policy: {multiplier: Number.POSITIVE_INFINITY},
    expected: /multiplier must be a number/,
  },
  {
    policy: {initialMs: -1},
    expected: /initialMs must be a number of milliseconds/,
  },
  {policy: {maxMs: '250'}, expected: /maxMs must be a number of milliseconds/},
  {policy: {initialMs: null}, expected: /initialMs must be a number/},
  {
    policy: {maxMs: 2e12},
    expected: /maxMs must be a number of milliseconds from 0 to 1000000000000/,
  },
  {
    policy: 'fast',
    expected: /must be an object, got string/,
  },
  {
    policy: [5],
    expected: /must be an object, got array/,
  },
  {
    policy: {initialMS: 5},
    expected: /initialMS is not a setting/,
  },
];

describe('validation: one backoff-policy rule', () => {
  for (const {policy, expected, configTooToday} of cases) {
    const outcome =
      expected instanceof RegExp ? `refused (${expected.source})` : 'accepted';
    it(`${inspect(policy)} is ${outcome} by the rule, lockedHandler's backoff${configTooToday === false ? '' : " and configureLocking's waitBackoff"}`, () => {
      const byRule = () =>
        backoffPolicyOption('backoff', policy, DEFAULT_WAIT_BACKOFF);
      // lockedHandler's defaults differ: the waiters' are spelled out, so the rows read the same.
      const plainObject =
        typeof policy === 'object' && policy !== null && !Array.isArray(policy);
      const byHandler = () =>
        resolveLockedHandlerOptions({
          identifier: () => 'x',
          retryTopic: 'retry',
          backoff: (plainObject
            ? {...DEFAULT_WAIT_BACKOFF, ...policy}
            : policy) as never,
        }).backoff;
      const byConfig = () =>
        resolveLockingConfig({waitBackoff: policy as never}).waitBackoff;
      if (expected instanceof RegExp) {
        assert.throws(byRule, invalid(expected));
        assert.throws(byHandler, invalid(expected));
        if (configTooToday !== false)
          assert.throws(byConfig, invalid(expected));
      } else {
        assert.deepEqual(byRule(), expected);
        assert.deepEqual(byHandler(), expected);
        if (configTooToday !== false) assert.deepEqual(byConfig(), expected);
      }
    });
  }

  it("names the option in lockedHandler's message", () => {
    assert.throws(
      () =>
        resolveLockedHandlerOptions({
          identifier: () => 'x',
          retryTopic: 'retry',
          backoff: {maxMs: 0},
        }),
      invalid(/^backoff\.maxMs must be > 0, got 0$/),
    );
  });
});
