import {strict as assert} from 'node:assert';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {LOCKS_PAGE_ENABLED_VARIABLE} from '../../functions/locks-page';
import {configureLocking, Lock, LockKind} from '../../shared';
import type {} from '../../shared/stores/valkey';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {valkeyClient, valkeyUrl} from '../support/valkey-target';

interface Listed {
  readonly now: string;
  readonly weakLocks: string;
  readonly locks: Record<string, unknown>[];
}

/** The page's data with WEAK locks on Valkey (listed, marked WEAK) and on memcached (said to be unlisted). */
describe('locksPage function: WEAK locks', () => {
  let saved: NodeJS.ProcessEnv;
  const listed = async (): Promise<Listed> => {
    const response = await request(getTestServer('locksPage')).get(
      '/locksPage/locks',
    );
    assert.equal(response.status, 200, response.text);
    return response.body as Listed;
  };
  before(() => {
    saved = {...process.env};
  });
  beforeEach(() => {
    process.env[LOCKS_PAGE_ENABLED_VARIABLE] = 'true';
  });
  afterEach(() => {
    process.env = {...saved};
  });
  after(() => configureLocking());

  it('on Valkey (LOCKS_VALKEY_URL): WEAK locks listed beside STRONG ones, each with its kind, no fence or queue of its own, never a token', async () => {
    process.env.LOCKS_VALKEY_URL = valkeyUrl();
    configureLocking({
      datastore: DATASTORE_TARGETS[0]?.client(),
      valkey: valkeyClient(),
    });
    const id = uniqueId('page-weak');
    const strong = await Lock.acquire(id, {leaseMs: 30_000});
    const weak = await Lock.acquire(id, {kind: LockKind.WEAK, leaseMs: 20_000});
    assert.ok(strong && weak);
    try {
      const body = await listed();
      assert.equal(body.weakLocks, 'listed');
      const rows = body.locks.filter(lock => lock.identifier === id);
      assert.deepEqual(
        rows.map(lock => [lock.kind, lock.holderId, lock.fence, lock.leaseMs]),
        [
          ['STRONG', strong.holderId, String(strong.fence), 30_000],
          ['WEAK', weak.holderId, undefined, 20_000],
        ],
      );
      const text = JSON.stringify(body);
      assert.ok(
        !text.includes(weak.token) && !text.includes(strong.token),
        'never a token',
      );
    } finally {
      await weak.release();
      await strong.release();
    }
    const after = await listed();
    assert.deepEqual(
      after.locks.filter(lock => lock.identifier === id),
      [],
      'both gone once released',
    );
  });

  it('Valkey unreachable: the STRONG locks still listed, and the page told WEAK ones are not, never an error', async () => {
    process.env.LOCKS_VALKEY_URL = 'redis://127.0.0.1:1';
    configureLocking({
      datastore: DATASTORE_TARGETS[0]?.client(),
      valkey: valkeyClient('127.0.0.1:1'),
    });
    const id = uniqueId('page-weak-down');
    const strong = await Lock.acquire(id);
    assert.ok(strong);
    try {
      const body = await listed();
      assert.equal(body.weakLocks, 'unavailable');
      assert.deepEqual(
        body.locks.filter(lock => lock.identifier === id).map(l => l.kind),
        ['STRONG'],
      );
    } finally {
      await strong.release();
    }
  });

  it('on memcached: STRONG locks only, and the page told WEAK ones are not listed', async () => {
    delete process.env.LOCKS_VALKEY_URL;
    const memcache = memcacheClient();
    configureLocking({datastore: DATASTORE_TARGETS[0]?.client(), memcache});
    const id = uniqueId('page-weak-mc');
    const weak = await Lock.acquire(id, {kind: LockKind.WEAK});
    assert.ok(weak);
    try {
      const body = await listed();
      assert.equal(body.weakLocks, 'memcached');
      assert.deepEqual(
        body.locks.filter(lock => lock.identifier === id),
        [],
      );
    } finally {
      await weak.release();
      memcache.close();
    }
  });
});
