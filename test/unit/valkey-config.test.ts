import {strict as assert} from 'node:assert';
import {LockError} from '../../shared';
import {resolveLockingConfig} from '../../shared/configuration/resolve-config';
import {readSettings, SettingsError} from '../../functions/settings';
import {isValkeyUrl} from '../../shared/validation';
import {lockKeyPattern, lockKeys} from '../../shared/stores/valkey/lock-keys';
import {decodeStoredLock} from '../../shared/stores/valkey/lock-value';
import {evictsLocks} from '../../shared/stores/valkey/eviction-policy';

/** Runs `fn` with LOCKS_VALKEY_URL set to `value` (or unset), restoring it after. */
function withValkeyUrl<T>(value: string | undefined, fn: () => T): T {
  const before = process.env.LOCKS_VALKEY_URL;
  if (value === undefined) delete process.env.LOCKS_VALKEY_URL;
  else process.env.LOCKS_VALKEY_URL = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.LOCKS_VALKEY_URL;
    else process.env.LOCKS_VALKEY_URL = before;
  }
}

const invalid = (error: unknown) =>
  error instanceof LockError && error.code === 'INVALID_ARGUMENT';

describe('choosing Valkey for WEAK locks', () => {
  for (const [url, ok] of [
    ['redis://10.0.0.3:6379', true],
    ['rediss://default:secret@10.0.0.3:6378/0', true],
    ['redis://localhost', true],
    ['http://10.0.0.3:6379', false],
    ['redis://', false],
    ['redis://host:6379/not-a-db', false],
    ['redis://host:6379?tls=1', false],
    ['10.0.0.3:6379', false],
  ] as const) {
    it(`${ok ? 'accepts' : 'refuses'} the URL ${url}`, () => {
      assert.equal(isValkeyUrl(url), ok);
    });
  }

  it('memcached by default; Valkey when LOCKS_VALKEY_URL is set', () => {
    withValkeyUrl(undefined, () =>
      assert.equal(resolveLockingConfig({}).weakStore, 'memcached'),
    );
    withValkeyUrl('redis://127.0.0.1:6379', () => {
      const config = resolveLockingConfig({});
      assert.equal(config.weakStore, 'valkey');
      assert.equal(config.valkey, 'redis://127.0.0.1:6379');
    });
  });

  it('a memcache client or a weak backend given wins over LOCKS_VALKEY_URL, which is then not read', () => {
    withValkeyUrl('not a url', () => {
      assert.equal(
        resolveLockingConfig({memcache: {} as never}).weakStore,
        'memcached',
      );
      assert.equal(
        resolveLockingConfig({
          weak: {kind: 'WEAK', tryAcquire: () => 0} as never,
        }).valkey,
        undefined,
      );
    });
  });

  it('a bad LOCKS_VALKEY_URL is INVALID_ARGUMENT naming the variable, never echoing the value', () => {
    withValkeyUrl('http://user:hunter2@host', () =>
      assert.throws(
        () => resolveLockingConfig({}),
        (error: unknown) =>
          invalid(error) &&
          /LOCKS_VALKEY_URL/.test((error as Error).message) &&
          !/hunter2/.test((error as Error).message),
      ),
    );
  });

  it('the valkey option: a URL or a client; not both memcache and valkey; nothing else', () => {
    withValkeyUrl(undefined, () => {
      assert.equal(
        resolveLockingConfig({valkey: 'redis://h:1'}).weakStore,
        'valkey',
      );
      assert.throws(() => resolveLockingConfig({valkey: 'h:1'}), invalid);
      assert.throws(() => resolveLockingConfig({valkey: 42 as never}), invalid);
      assert.throws(
        () =>
          resolveLockingConfig({valkey: 'redis://h:1', memcache: {} as never}),
        invalid,
      );
    });
  });

  it('the functions check LOCKS_VALKEY_URL at cold start: a SettingsError without the value', () => {
    assert.equal(readSettings({}).weakStore, 'memcached');
    assert.equal(
      readSettings({LOCKS_VALKEY_URL: 'rediss://10.0.0.3:6378'}).weakStore,
      'valkey',
    );
    assert.throws(
      () => readSettings({LOCKS_VALKEY_URL: 'memcache://pw@x'}),
      (error: unknown) =>
        error instanceof SettingsError &&
        /LOCKS_VALKEY_URL/.test(error.message) &&
        !/pw@x/.test(error.message),
    );
  });
});

describe('Valkey keys and values', () => {
  it("one lock's keys share one hash tag, whatever braces the identifier holds", () => {
    const keys = lockKeys('lock:', 'a}{b');
    const tag = (key: string) =>
      key.slice(key.indexOf('{'), key.indexOf('}') + 1);
    assert.match(keys.lock, /^lock:\{lk:[0-9a-f]{64}\}$/);
    assert.equal(tag(keys.fence), tag(keys.lock));
    assert.equal(tag(keys.channel), tag(keys.lock));
  });

  it('the listing pattern escapes glob characters of the prefix', () => {
    assert.equal(lockKeyPattern('a*b?[c]\\'), 'a\\*b\\?\\[c\\]\\\\{lk:*}');
  });

  it('a foreign value decodes as not-a-lock', () => {
    for (const value of [null, 42, 'x', '{}', '{"t":"a","a":1,"f":"x"}'])
      assert.equal(decodeStoredLock(value), null);
    const stored = decodeStoredLock(
      JSON.stringify({t: 'tok', id: 'x', a: 1000, s: 5, f: '7', l: 500}),
    );
    assert.equal(stored?.fence, 7n);
    assert.equal(stored?.record.expiresAt?.getTime(), 1500);
    assert.equal('fence' in (stored?.record ?? {}), false);
  });

  it('every eviction policy but noeviction can evict a lock', () => {
    assert.equal(evictsLocks('noeviction'), false);
    for (const policy of ['volatile-lru', 'allkeys-lru', 'volatile-ttl'])
      assert.equal(evictsLocks(policy), true);
  });
});
