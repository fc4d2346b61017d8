import {strict as assert} from 'node:assert';
import {Datastore} from '@google-cloud/datastore';
import sinon from 'sinon';
import {
  configureLocking,
  Lock,
  LockError,
  LockKind,
  peek,
  releaseByToken,
} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import type {DatastoreLockBackend} from '../../shared/stores/datastore/datastore-backend';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {freePort} from '../../infra/ports';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {spyOnRpcs} from '../support/rpc-counter';

/**
 * Round trips and injected faults on the real emulators: the store answers for real, and sinon
 * adds only what no emulator produces (a dropped answer, an outage, a refused call).
 */
const grpcError = (code: number, text: string) =>
  Object.assign(new Error(`${code} ${text}: injected`), {code});
const UNAVAILABLE = grpcError(14, 'UNAVAILABLE');
const DEADLINE_EXCEEDED = grpcError(4, 'DEADLINE_EXCEEDED');
const PERMISSION_DENIED = grpcError(7, 'PERMISSION_DENIED');
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};

/** Takes and releases one lock, then waits for the precondition probe the first acquire started. */
async function settledPreconditionProbe(): Promise<boolean> {
  await (await Lock.acquire(uniqueId('warm-up')))?.release();
  const backend = (await currentRuntime().backend(
    LockKind.STRONG,
  )) as DatastoreLockBackend;
  return backend.preconditions.honoured();
}

/** The next commit reaches the store and is applied, but the caller sees `error`: an ambiguous commit. */
function firstCommitLandsThenFails(sandbox: sinon.SinonSandbox, error: Error) {
  const commit = sandbox.stub(DatastoreRpc.prototype, 'commit');
  commit.onFirstCall().callsFake(async function (this: DatastoreRpc, ...args) {
    await commit.wrappedMethod.apply(this, args);
    throw error;
  });
  commit.callThrough();
  return commit;
}

for (const target of DATASTORE_TARGETS) {
  describe(`STRONG round trips and faults: ${target.name}`, () => {
    const sandbox = sinon.createSandbox();
    let datastore: Datastore;

    let preconditions = false;
    beforeEach(async () => {
      datastore = target.client();
      configureLocking({datastore, retry: fastRetry});
      // Warm up: the generated client is created on the first call, and the first acquire starts
      // the one-time precondition probe, which must be done before anything is counted or stubbed.
      preconditions = await settledPreconditionProbe();
    });
    afterEach(() => sandbox.restore());
    after(() => configureLocking());

    describe('round trips', () => {
      it(`the store ${target.honoursPreconditions ? 'honours' : 'ignores'} version preconditions, as the probe finds`, () => {
        assert.equal(preconditions, target.honoursPreconditions);
      });

      it(`an uncontended acquire is one commit; a release is ${target.honoursPreconditions ? 'one conditional delete' : 'begin, lookup, commit'}`, async () => {
        const rpcs = spyOnRpcs(datastore, sandbox);
        const held = await Lock.acquire(uniqueId('rpc'));
        assert.ok(held);
        assert.deepEqual(rpcs.calls(), ['commit']);
        rpcs.reset();
        assert.equal(await held.release(), true);
        assert.deepEqual(
          rpcs.calls(),
          preconditions ? ['commit'] : ['beginTransaction', 'lookup', 'commit'],
        );
      });

      it(`a renewal is ${target.honoursPreconditions ? 'one conditional update' : 'begin, lookup, commit'}, keeps the fence, and a later release still takes one round trip`, async () => {
        const held = await Lock.acquire(uniqueId('rpc-renew'), {
          leaseMs: 60_000,
        });
        assert.ok(held);
        const rpcs = spyOnRpcs(datastore, sandbox);
        assert.equal(await held.renew(), true);
        assert.deepEqual(
          rpcs.calls(),
          preconditions ? ['commit'] : ['beginTransaction', 'lookup', 'commit'],
        );
        assert.equal(
          (await peek(held.identifier))?.fence,
          held.fence,
          'renewal keeps the grant fence',
        );
        rpcs.reset();
        assert.equal(await held.release(), true);
        assert.deepEqual(
          rpcs.calls(),
          preconditions ? ['commit'] : ['beginTransaction', 'lookup', 'commit'],
        );
      });

      it('a renewal by a holder whose expired lease was taken over changes nothing and answers false', async () => {
        const id = uniqueId('renew-after-takeover');
        const old = await Lock.acquire(id, {leaseMs: 150});
        assert.ok(old);
        await delay(400);
        const next = await Lock.acquire(id, {wait: false});
        assert.ok(next, 'an expired lease is free to a plain acquire');
        assert.ok((next.fence as bigint) > (old.fence as bigint));
        assert.equal(await old.renew(), false);
        assert.equal(old.signal.aborted, true);
        assert.equal(
          (await peek(id))?.holderId,
          next.holderId,
          "the new holder's lock is untouched",
        );
        assert.equal(await old.release(), false);
        assert.equal(await next.release(), true);
      });

      it('a release by token alone (no grant version) checks ownership in a transaction', async () => {
        const held = await Lock.acquire(uniqueId('rpc-token'));
        assert.ok(held);
        const rpcs = spyOnRpcs(datastore, sandbox);
        assert.equal(await releaseByToken(held.identifier, held.token), true);
        assert.deepEqual(rpcs.calls(), [
          'beginTransaction',
          'lookup',
          'commit',
        ]);
      });

      it('a held lock costs one commit to find held and one lookup to judge it (an expired lease is free to anyone)', async () => {
        const id = uniqueId('rpc-held');
        const held = await Lock.acquire(id);
        assert.ok(held);
        const rpcs = spyOnRpcs(datastore, sandbox);
        assert.equal(await Lock.acquire(id, {wait: false}), null);
        assert.deepEqual(rpcs.calls(), ['commit', 'lookup']);
        rpcs.reset();
        assert.equal(
          await Lock.acquire(id, {wait: false, stealAfterMs: 60_000}),
          null,
        );
        assert.deepEqual(rpcs.calls(), ['commit', 'lookup']);
        rpcs.reset();
        assert.equal(
          await Lock.acquire(uniqueId('other')).then(other => other?.release()),
          true,
        );
        await held.release();
      });

      it('a release by a stale holder reads, finds another token, and rolls back', async () => {
        const id = uniqueId('rpc-stale');
        const victim = await Lock.acquire(id);
        await delay(30);
        const thief = await Lock.acquire(id, {wait: false, stealAfterMs: 10});
        assert.ok(victim && thief);
        const rpcs = spyOnRpcs(datastore, sandbox);
        assert.equal(await victim.release(), false);
        // With preconditions, the conditional delete conflicts first, then the transaction finds the thief.
        assert.deepEqual(rpcs.calls(), [
          ...(preconditions ? ['commit'] : []),
          'beginTransaction',
          'lookup',
          'rollback',
        ]);
        await thief.release();
      });
    });

    describe('faults', () => {
      it('retries a transient failure and then acquires', async () => {
        const commit = sandbox.stub(DatastoreRpc.prototype, 'commit');
        commit.onFirstCall().rejects(UNAVAILABLE);
        commit.callThrough();
        const id = uniqueId('transient');
        const held = await Lock.acquire(id, {wait: false});
        assert.ok(held, 'acquired on the retry');
        assert.equal(commit.callCount, 2);
        sandbox.restore();
        assert.equal((await peek(id))?.holderId, held.holderId);
        assert.equal(await held.release(), true);
      });

      it('an ambiguous insert (written, but the answer lost) leaves the caller holding its own lock', async () => {
        firstCommitLandsThenFails(sandbox, DEADLINE_EXCEEDED);
        const id = uniqueId('ambiguous');
        const held = await Lock.acquire(id, {wait: false});
        assert.ok(
          held,
          'the retry recognised the lock as its own instead of finding it held',
        );
        sandbox.restore();
        const stored = await peek(id);
        assert.equal(stored?.holderId, held.holderId);
        assert.equal(
          stored?.fence,
          held.fence,
          'the fence is the one the store gave the landed write',
        );
        assert.equal(await held.release(), true);
        assert.equal(await peek(id), null);
      });

      it('an ambiguous insert while waiting does not make the caller wait on itself', async () => {
        firstCommitLandsThenFails(sandbox, UNAVAILABLE);
        const held = await Lock.acquire(uniqueId('ambiguous-wait'), {
          waitForMs: 2_000,
        });
        assert.ok(held);
        sandbox.restore();
        assert.equal(await held.release(), true);
      });

      it('an ambiguous release (deleted, but the answer lost) reports true', async () => {
        const id = uniqueId('ambiguous-release');
        const held = await Lock.acquire(id);
        assert.ok(held);
        firstCommitLandsThenFails(sandbox, UNAVAILABLE);
        assert.equal(
          await held.release(),
          true,
          'the retry found the lock gone: the lost answer was a success',
        );
        sandbox.restore();
        assert.equal(await peek(id), null);
      });

      if (target.honoursPreconditions) {
        it('a conditional delete refused as INVALID_ARGUMENT (a store that lost its data) falls back to the transaction', async () => {
          const id = uniqueId('refused-version');
          const held = await Lock.acquire(id);
          assert.ok(held);
          const commit = sandbox.stub(DatastoreRpc.prototype, 'commit');
          commit
            .onFirstCall()
            .rejects(
              Object.assign(
                new Error(
                  '3 INVALID_ARGUMENT: injected version above the stored one',
                ),
                {code: 3},
              ),
            );
          commit.callThrough();
          assert.equal(await held.release(), true);
          sandbox.restore();
          assert.equal(await peek(id), null);
        });
      }

      it('a store that stays unavailable fails with BACKEND_UNAVAILABLE after the bounded retries', async () => {
        const commit = sandbox
          .stub(DatastoreRpc.prototype, 'commit')
          .rejects(UNAVAILABLE);
        const lookup = sandbox
          .stub(DatastoreRpc.prototype, 'lookup')
          .rejects(UNAVAILABLE);
        const id = uniqueId('outage');
        await assert.rejects(
          Lock.acquire(id),
          (error: unknown) =>
            error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
        );
        assert.ok(
          commit.callCount >= fastRetry.maxAttempts,
          'each retry tried the insert',
        );
        assert.ok(
          lookup.callCount > 0,
          'after writes that may have landed, it tried to clean up its own lock',
        );
        sandbox.restore();
        assert.equal(await peek(id), null, 'no lock was left behind');
      });

      it('a refused call (PERMISSION_DENIED) fails at once with BACKEND_FAILURE', async () => {
        const commit = sandbox
          .stub(DatastoreRpc.prototype, 'commit')
          .rejects(PERMISSION_DENIED);
        await assert.rejects(
          Lock.acquire(uniqueId('denied')),
          (error: unknown) =>
            error instanceof LockError && error.code === 'BACKEND_FAILURE',
        );
        assert.equal(commit.callCount, 1);
      });

      it('a release that cannot reach the store rejects; the lock stays for its owner to retry', async () => {
        const id = uniqueId('release-outage');
        const held = await Lock.acquire(id);
        assert.ok(held);
        sandbox
          .stub(DatastoreRpc.prototype, 'beginTransaction')
          .rejects(UNAVAILABLE);
        sandbox.stub(DatastoreRpc.prototype, 'commit').rejects(UNAVAILABLE);
        await assert.rejects(
          held.release(),
          (error: unknown) =>
            error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
        );
        sandbox.restore();
        assert.equal(
          (await peek(id))?.holderId,
          held.holderId,
          'the lock is still there',
        );
        assert.equal(
          await held.release(),
          true,
          'and its owner can release it once the store is back',
        );
        assert.equal(await peek(id), null);
      });

      it('three thieves racing for one stale lock: at most one wins, and the winner holds it', async function () {
        this.timeout(60_000);
        // The steal window is far longer than a steal, so a winner's fresh lock is never stale to the others.
        for (let round = 0; round < 3; round++) {
          const id = uniqueId('race');
          const victim = await Lock.acquire(id);
          assert.ok(victim);
          await delay(600);
          const thieves = await Promise.all(
            [1, 2, 3].map(() =>
              Lock.acquire(id, {wait: false, stealAfterMs: 500}),
            ),
          );
          const winners = thieves.filter(thief => thief !== null);
          assert.ok(
            winners.length <= 1,
            `round ${round}: ${winners.length} thieves won`,
          );
          const holder = await peek(id);
          assert.equal(
            holder?.holderId,
            winners[0]?.holderId ?? victim.holderId,
          );
          await Promise.all(winners.map(winner => winner?.release()));
          await victim.release();
        }
      });
    });
  });
}

describe('STRONG with an unreachable store', () => {
  after(() => configureLocking());

  it('fails with BACKEND_UNAVAILABLE within the bounded retries, no hang', async function () {
    this.timeout(15_000);
    const closedPort = await freePort();
    configureLocking({
      datastore: new Datastore({
        projectId: TEST_PROJECT,
        apiEndpoint: `127.0.0.1:${closedPort}`,
      }),
      rpcTimeoutMs: 500,
      retry: fastRetry,
    });
    await assert.rejects(
      Lock.acquire(uniqueId('unreachable')),
      (error: unknown) =>
        error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE',
    );
  });
});

describe('STRONG configuration: namespace and entity kind', () => {
  after(() => configureLocking());

  for (const target of DATASTORE_TARGETS) {
    it(`stores locks under the configured namespace and kind, apart from the defaults: ${target.name}`, async () => {
      const id = uniqueId('configured');
      configureLocking({
        datastore: target.client(),
        namespace: 'locks-ns',
        entityKind: 'CustomLock',
      });
      const configured = await Lock.acquire(id, {wait: false});
      assert.ok(configured);
      const [entities] = await target
        .client('locks-ns')
        .runQuery(target.client('locks-ns').createQuery('CustomLock'));
      assert.ok(
        entities.some(
          entity =>
            entity.token === configured.token && entity.identifier === id,
        ),
        'the lock entity is in namespace locks-ns, kind CustomLock',
      );
      configureLocking({datastore: target.client()});
      const elsewhere = await Lock.acquire(id, {wait: false});
      assert.ok(
        elsewhere,
        'the default namespace and kind hold a different lock',
      );
      assert.equal(await elsewhere.release(), true);
      assert.equal(
        await configured.release(),
        true,
        'a lock releases where it was acquired, whatever is configured since',
      );
    });
  }
});
