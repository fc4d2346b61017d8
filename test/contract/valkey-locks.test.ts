import {strict as assert} from 'node:assert';
import type {Redis} from 'iovalkey';
import sinon from 'sinon';
import {
  configureLocking,
  listLocks,
  Lock,
  LockError,
  LockKind,
  peek,
} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import type {ValkeyLockBackend} from '../../shared/stores/valkey';
import {lockKeys} from '../../shared/stores/valkey/lock-keys';
import {delay, uniqueId} from '../support/ids';
import {valkeyClient} from '../support/valkey-target';

const WEAK = {kind: LockKind.WEAK} as const;
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};

/** What WEAK locks on Valkey promise beyond the shared contract, on a real server. */
describe('WEAK locks on Valkey', () => {
  const sandbox = sinon.createSandbox();
  let client: Redis;
  let backend: ValkeyLockBackend;

  before(async () => {
    client = valkeyClient();
    backend = await createValkeyBackend(client);
    configureLocking({weak: backend, retry: fastRetry});
  });
  afterEach(() => sandbox.restore());
  after(() => configureLocking());

  it('the fence strictly increases across grants: release and re-acquire, steal, an expired lease', async () => {
    const id = uniqueId('valkey-fence');
    const fences: bigint[] = [];
    const take = async (options = {}) => {
      const held = await Lock.acquire(id, {...WEAK, wait: false, ...options});
      assert.ok(held);
      assert.equal(held.fence, undefined, 'Lock#fence stays WEAK: undefined');
      const fence = await backend.fenceOf(id, held.token);
      assert.equal(typeof fence, 'bigint');
      fences.push(fence as bigint);
      return held;
    };
    await (await take()).release();
    await (await take()).release();
    await take();
    await delay(30);
    const thief = await take({stealAfterMs: 10});
    await thief.release();
    await take({leaseMs: 100});
    await delay(250);
    const next = await take();
    assert.equal(
      await backend.fenceOf(id, 'not-the-token'),
      null,
      'another token learns no fence',
    );
    await next.release();
    for (let i = 1; i < fences.length; i++)
      assert.ok(fences[i]! > fences[i - 1]!, `${fences.join(' < ')}`);
  });

  it('steals are judged on the server clock, not on the host clock', async () => {
    const id = uniqueId('valkey-server-clock');
    const held = await Lock.acquire(id, WEAK);
    assert.ok(held);
    // The host's clock an hour ahead: on its own clock the lock looks an hour old.
    const now = Date.now;
    sandbox.stub(Date, 'now').callsFake(() => now() + 3_600_000);
    assert.equal(
      (
        await backend.tryAcquire({
          identifier: id,
          token: 'thief-1',
          stealAfterMs: 10_000,
        })
      ).acquired,
      false,
      'held for milliseconds on the server: not stealable after 10 s',
    );
    sandbox.restore();
    // The host's clock an hour behind: on its own clock the lock is not even granted yet.
    sandbox.stub(Date, 'now').callsFake(() => now() - 3_600_000);
    await delay(60);
    const stolen = await backend.tryAcquire({
      identifier: id,
      token: 'thief-2',
      stealAfterMs: 20,
    });
    assert.equal(stolen.acquired, true, 'held 60 ms on the server: stolen');
    assert.equal(stolen.acquired && stolen.takeover, 'stolen');
    sandbox.restore();
    assert.equal(await held.release(), false);
    assert.equal(await backend.release(id, 'thief-2'), 'released');
  });

  it('peek shows the holder without its token; the stored value holds it only on the server', async () => {
    const id = uniqueId('valkey-peek');
    const held = await Lock.acquire(id, {...WEAK, stealAfterMs: 5000});
    assert.ok(held);
    const peeked = await peek(id, WEAK);
    assert.ok(peeked);
    assert.equal(peeked.holderId, held.holderId);
    assert.equal(JSON.stringify(peeked).includes(held.token), false);
    assert.equal(
      (await client.pttl(lockKeys('lock:', id).lock)) > 5000,
      true,
      'the key outlives the steal time',
    );
    await held.release();
  });

  it('lists WEAK locks by SCAN: oldest first, by prefix, with a limit', async () => {
    const prefix = uniqueId('valkey-list');
    const held: Lock<LockKind.WEAK>[] = [];
    for (const name of ['a', 'b', 'c']) {
      const one = await Lock.acquire(`${prefix}/${name}`, WEAK);
      assert.ok(one);
      held.push(one);
      await delay(5);
    }
    const listed = await listLocks({...WEAK, prefix});
    assert.deepEqual(
      listed.map(lock => lock.identifier),
      held.map(lock => lock.identifier),
    );
    assert.equal(JSON.stringify(listed).includes(held[0]!.token), false);
    assert.equal((await listLocks({...WEAK, prefix, limit: 2})).length, 2);
    for (const one of held) await one.release();
    assert.deepEqual(await listLocks({...WEAK, prefix}), []);
  });

  it('sends each script by SHA-1, and its source again after SCRIPT FLUSH', async () => {
    const id = uniqueId('valkey-noscript');
    await client.call('SCRIPT', 'FLUSH');
    const calls = sandbox.spy(client, 'call');
    const held = await Lock.acquire(id, WEAK);
    assert.ok(held);
    const sent = calls.getCalls().map(call => String(call.args[0]));
    assert.deepEqual(sent.slice(0, 2), ['EVALSHA', 'EVAL']);
    calls.resetHistory();
    assert.equal(await held.release(), true);
    assert.deepEqual(
      calls.getCalls().map(call => String(call.args[0])),
      ['EVALSHA', 'EVAL'],
    );
    calls.resetHistory();
    const again = await Lock.acquire(id, WEAK);
    assert.ok(again);
    assert.deepEqual(
      calls.getCalls().map(call => String(call.args[0])),
      ['EVALSHA'],
    );
    await again.release();
  });

  it('a value under a lock key that is not a lock is never granted over, nor released', async () => {
    const id = uniqueId('valkey-foreign');
    await client.set(lockKeys('lock:', id).lock, 'not a lock');
    assert.equal(
      await Lock.acquire(id, {...WEAK, wait: false, stealAfterMs: 0}),
      null,
    );
    assert.equal(await backend.release(id, 'x'), 'not_holder');
    await client.del(lockKeys('lock:', id).lock);
  });

  it('a bad script reply is BACKEND_FAILURE, not a crash', async () => {
    sandbox
      .stub(client, 'call')
      .rejects(
        Object.assign(new Error('NOPERM no permission'), {name: 'ReplyError'}),
      );
    await assert.rejects(
      Lock.acquire(uniqueId('valkey-noperm'), WEAK),
      (error: unknown) =>
        error instanceof LockError && error.code === 'BACKEND_FAILURE',
    );
  });
});
