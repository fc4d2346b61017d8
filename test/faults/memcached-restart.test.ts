import {strict as assert} from 'node:assert';
import type {Client} from 'memjs';
import {startMemcached} from '../../infra/memcached';
import type {RunningService} from '../../infra/processes';
import {configureLocking, Lock, LockKind, releaseByToken} from '../../shared';
import {uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {storedWeakLock} from '../support/stored-weak-lock';

const WEAK = {kind: LockKind.WEAK} as const;
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};

/**
 * memcached's CAS counter starts again at 1 when it restarts, so a CAS from before a restart can
 * equal a new holder's. This suite restarts its own memcached on the same port; the shared
 * fixture's memcached is never touched.
 */
describe('WEAK locks across a memcached restart', function () {
  this.timeout(30_000);
  let server: RunningService | undefined;
  let client: Client | undefined;

  /** A memcached of this test's own, the library pointed at it, and a way to restart it on its port. */
  async function ownMemcached(): Promise<{
    client: Client;
    restart: () => Promise<void>;
  }> {
    server = await startMemcached();
    const port = server.port;
    client = memcacheClient(server.host);
    configureLocking({memcache: client, retry: fastRetry});
    return {
      client,
      restart: async () => {
        await server?.stop();
        server = await startMemcached({port});
      },
    };
  }

  afterEach(async () => {
    configureLocking();
    client?.close();
    await server?.stop();
  });

  it("a release from before a restart leaves the lock granted after it, even when its CAS is the old grant's", async () => {
    const {client, restart} = await ownMemcached();
    const id = uniqueId('weak-restart');
    const before = await Lock.acquire(id, {...WEAK, wait: false});
    assert.ok(before, 'A acquires on a fresh memcached');
    const casOfA = (await storedWeakLock(client, id))?.cas;

    await restart();

    const after = await Lock.acquire(id, {...WEAK, wait: false});
    assert.ok(after, "the restart lost A's lock, so B acquires");
    const stored = await storedWeakLock(client, id);
    assert.equal(
      stored?.cas,
      casOfA,
      "precondition: the CAS counter restarted, so B's CAS equals the one A's grant got",
    );

    assert.equal(await before.release(), false, 'A no longer holds the lock');
    assert.equal(
      await releaseByToken(id, before.token, WEAK),
      false,
      "A's token alone does not release it either",
    );
    assert.equal(
      (await storedWeakLock(client, id))?.token,
      after.token,
      "B's lock is still stored",
    );
    assert.equal(
      await Lock.acquire(id, {...WEAK, wait: false}),
      null,
      'C cannot get in while B holds it',
    );
    assert.equal(await after.release(), true);
    assert.equal(await storedWeakLock(client, id), null);
  });

  it('a thief after a restart steals only by what the stored value says, never by a CAS from before', async () => {
    const {client, restart} = await ownMemcached();
    const id = uniqueId('weak-restart-steal');
    const before = await Lock.acquire(id, {
      ...WEAK,
      wait: false,
      stealAfterMs: 60_000,
    });
    assert.ok(before);
    await restart();
    const after = await Lock.acquire(id, {
      ...WEAK,
      wait: false,
      stealAfterMs: 60_000,
    });
    assert.ok(after);
    assert.equal(
      await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 60_000}),
      null,
      "B's fresh lock is not stale",
    );
    assert.equal(await before.release(), false);
    assert.equal((await storedWeakLock(client, id))?.token, after.token);
    assert.equal(await after.release(), true);
  });
});
