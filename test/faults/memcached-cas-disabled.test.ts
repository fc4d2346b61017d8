import {strict as assert} from 'node:assert';
import type {Client} from 'memjs';
import sinon from 'sinon';
import {startMemcached} from '../../infra/memcached';
import type {RunningService} from '../../infra/processes';
import {
  configureLocking,
  Lock,
  LockError,
  LockKind,
  peek,
  releaseByToken,
} from '../../shared';
import {
  MemcacheOps,
  MemcacheTransportError,
} from '../../shared/stores/memcached/memcache-ops';
import {uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {plantWeakLock, storedWeakLock} from '../support/stored-weak-lock';

const WEAK = {kind: LockKind.WEAK} as const;
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};

const casDisabled = (error: unknown) =>
  error instanceof LockError &&
  error.code === 'BACKEND_FAILURE' &&
  error.kind === LockKind.WEAK &&
  /CAS is disabled/.test(error.message);

/**
 * `memcached -C` answers every CAS with 0, and a CAS-0 request is unconditional: compare-and-swap
 * protects nothing. WEAK locks must refuse such a server, not grant on it.
 */
describe('WEAK locks on a memcached started with -C (CAS disabled)', () => {
  let server: RunningService;
  let client: Client;

  before(async () => {
    server = await startMemcached({extraArgs: ['-C']});
    client = memcacheClient(server.host);
  });
  after(async () => {
    configureLocking();
    client?.close();
    await server?.stop();
  });
  const sandbox = sinon.createSandbox();
  beforeEach(() => configureLocking({memcache: client, retry: fastRetry}));
  afterEach(() => sandbox.restore());

  it('precondition: this memcached stores values with CAS 0', async () => {
    const id = uniqueId('weak-nocas-probe');
    await plantWeakLock(client, id, 'someone', 0);
    assert.equal((await storedWeakLock(client, id))?.cas, '0000000000000000');
  });

  it('acquiring a free lock is refused with BACKEND_FAILURE, and the lock the add wrote is removed', async () => {
    const id = uniqueId('weak-nocas-acquire');
    await assert.rejects(Lock.acquire(id, WEAK), casDisabled);
    await assert.rejects(Lock.acquire(id, {...WEAK, wait: false}), casDisabled);
    assert.equal(
      await storedWeakLock(client, id),
      null,
      'no lock that nobody holds is left behind',
    );
  });

  it('three thieves racing for a stale lock are all refused, and the stale lock is left as it was', async () => {
    const id = uniqueId('weak-nocas-steal');
    await plantWeakLock(client, id, 'victim', 10_000);
    const thieves = await Promise.allSettled(
      [1, 2, 3].map(() =>
        Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 100}),
      ),
    );
    for (const thief of thieves) {
      assert.equal(thief.status, 'rejected', 'no thief is granted the lock');
      assert.ok(
        casDisabled(thief.status === 'rejected' ? thief.reason : undefined),
        String(thief.status === 'rejected' ? thief.reason : ''),
      );
    }
    assert.equal((await storedWeakLock(client, id))?.token, 'victim');
  });

  it("releases and peeks are refused; another token's release leaves the lock, the lock's own token removes it", async () => {
    const id = uniqueId('weak-nocas-release');
    await plantWeakLock(client, id, 'holder', 0);
    await assert.rejects(
      peek(id, WEAK),
      casDisabled,
      'a peek is refused too: an acquire whose add may have landed trusts it',
    );
    await assert.rejects(releaseByToken(id, 'someone-else', WEAK), casDisabled);
    assert.equal(
      (await storedWeakLock(client, id))?.token,
      'holder',
      "another token's release deletes nothing",
    );
    await assert.rejects(releaseByToken(id, 'holder', WEAK), casDisabled);
    assert.equal(
      await storedWeakLock(client, id),
      null,
      'a lock that could never be granted safely is not left behind',
    );
  });

  it('an acquire whose add landed but whose answer was lost is refused, not granted by reading its own token back', async () => {
    const id = uniqueId('weak-nocas-ambiguous');
    const add = sandbox.stub(MemcacheOps.prototype, 'add');
    add.onFirstCall().callsFake(async function (this: MemcacheOps, ...args) {
      await add.wrappedMethod.apply(this, args);
      throw new MemcacheTransportError(
        'add',
        new Error('socket timed out waiting on response.'),
      );
    });
    add.callThrough();
    await assert.rejects(Lock.acquire(id, {...WEAK, wait: false}), casDisabled);
    assert.equal(
      add.callCount,
      2,
      'precondition: the add was retried after its lost answer',
    );
    assert.equal(
      await storedWeakLock(client, id),
      null,
      'the lock the first add wrote is removed',
    );
  });
});
