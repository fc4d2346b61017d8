import {strict as assert} from 'node:assert';
import {
  configureLocking,
  Lock,
  lock,
  LockError,
  LockKind,
  LOCK_KINDS,
  peek,
  type LockOptions,
} from '../../shared';
import {resolveLockingConfig} from '../../shared/configuration/resolve-config';
import {resolveLockOptions} from '../../shared/configuration/options';

const invalid = (error: unknown) =>
  error instanceof LockError && error.code === 'INVALID_ARGUMENT';

describe('input validation', () => {
  describe('identifiers', () => {
    const bad: [string, unknown][] = [
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['an object', {id: 'x'}],
      ['an empty string', ''],
      ['a lone surrogate', 'lock-\ud800'],
      ['1,501 bytes', 'x'.repeat(1501)],
    ];
    for (const [what, identifier] of bad) {
      it(`refuses ${what}: lock() throws, Lock.acquire() and peek() reject, all with INVALID_ARGUMENT`, async () => {
        assert.throws(() => lock(identifier as string), invalid);
        await assert.rejects(Lock.acquire(identifier as string), invalid);
        await assert.rejects(peek(identifier as string), invalid);
      });
    }

    it('names the problem in the message', () => {
      assert.throws(
        () => lock('x'.repeat(1501)),
        /1501 bytes of UTF-8; the limit is 1500/,
      );
      assert.throws(
        () => lock(7 as unknown as string),
        /identifier must be a string, got number/,
      );
    });
  });

  describe('lock options', () => {
    it('defaults to wait: true, STRONG, no steal, no wait limit', () => {
      assert.deepEqual(resolveLockOptions(), {
        wait: true,
        kind: LockKind.STRONG,
        stealAfterMs: undefined,
        waitForMs: undefined,
        signal: undefined,
        leaseMs: undefined,
        autoRenew: false,
      });
      assert.equal(LOCK_KINDS.WEAK, LockKind.WEAK);
    });

    const bad: [string, unknown][] = [
      ['a negative stealAfterMs', {stealAfterMs: -1}],
      ['a NaN stealAfterMs', {stealAfterMs: Number.NaN}],
      ['an infinite waitForMs', {waitForMs: Number.POSITIVE_INFINITY}],
      [
        'a stealAfterMs of 1e300 (beyond any date the store can hold)',
        {stealAfterMs: 1e300},
      ],
      ['a waitForMs just above the limit', {waitForMs: 1e12 + 1}],
      ['a string waitForMs', {waitForMs: '100'}],
      ['a non-boolean wait', {wait: 'yes'}],
      ['an unknown kind', {kind: 'MEDIUM'}],
      ['a lower-case kind', {kind: 'strong'}],
      ['options that are not an object', 'fast'],
    ];
    for (const [what, options] of bad) {
      it(`refuses ${what}`, async () => {
        assert.throws(
          () => resolveLockOptions(options as LockOptions),
          invalid,
        );
        assert.throws(() => lock('valid', options as LockOptions), invalid);
        await assert.rejects(
          Lock.acquire('valid', options as LockOptions),
          invalid,
        );
      });
    }
  });

  describe('configureLocking', () => {
    after(() => configureLocking());

    const bad: [string, unknown][] = [
      ['an empty entity kind', {entityKind: ''}],
      ['a reserved entity kind', {entityKind: '__kind__'}],
      ['a numeric namespace', {namespace: 3}],
      ['a zero rpc timeout', {rpcTimeoutMs: 0}],
      ['a backoff multiplier below 1', {waitBackoff: {multiplier: 0.5}}],
      ['zero retry attempts', {retry: {maxAttempts: 0}}],
      ['a zero once-key retention', {onceKeyRetentionMs: 0}],
      ['a once-key retention in text', {onceKeyRetentionMs: '7d'}],
    ];
    for (const [what, config] of bad) {
      it(`refuses ${what}`, () => {
        assert.throws(() => configureLocking(config as never), invalid);
        assert.throws(() => resolveLockingConfig(config as never), invalid);
      });
    }

    it('merges partial policies over the defaults', () => {
      const resolved = resolveLockingConfig({
        waitBackoff: {maxMs: 1000},
        retry: {maxAttempts: 5},
      });
      assert.deepEqual(resolved.waitBackoff, {
        initialMs: 20,
        maxMs: 1000,
        multiplier: 2,
      });
      assert.equal(resolved.retry.maxAttempts, 5);
      assert.equal(resolved.entityKind, 'DatastoreLock');
      assert.equal(
        resolved.onceKeyRetentionMs,
        7 * 24 * 60 * 60 * 1000,
        'once-keys outlive Pub/Sub redelivery (up to 7 days)',
      );
    });
  });
});
