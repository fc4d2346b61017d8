import {strict as assert} from 'node:assert';
import {Timestamp} from '@google-cloud/firestore';
import sinon from 'sinon';
import {
  cleanupStaleLocks,
  configureLocking,
  forceRelease,
  Lock,
  LockKind,
  peek,
} from '../../shared';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import {delay, uniqueId} from '../support/ids';
import {firestoreNativeClient} from '../support/firestore-native-target';

/**
 * What the Firestore native-mode backend builds on, measured on the emulator, and what it adds to
 * the contract suites (which run on it unchanged): round trips, and the fence across delete and
 * re-create and across cleanup.
 */
describe('Firestore native mode: what the emulator honours', () => {
  const firestore = () => firestoreNativeClient();

  it('a stale lastUpdateTime precondition fails a delete and an update with FAILED_PRECONDITION (9) and keeps the newer document', async () => {
    const ref = firestore()
      .collection('PreconditionCheck')
      .doc(uniqueId('doc').replace(/:/g, '-'));
    const first = await ref.create({write: 1});
    const second = await ref.update({write: 2});
    await assert.rejects(
      ref.delete({lastUpdateTime: first.writeTime}),
      (error: {code?: number}) => error.code === 9,
    );
    await assert.rejects(
      ref.update({write: 3}, {lastUpdateTime: first.writeTime}),
      (error: {code?: number}) => error.code === 9,
    );
    assert.equal(
      (await ref.get()).get('write'),
      2,
      'the newer write is untouched',
    );
    await ref.delete({lastUpdateTime: second.writeTime});
    assert.equal(
      (await ref.get()).exists,
      false,
      'the current update time deletes it',
    );
    await assert.rejects(
      ref.delete({lastUpdateTime: second.writeTime}),
      (error: {code?: number}) => error.code === 9,
      'a missing document fails the precondition too',
    );
  });

  it('update times grow across delete and re-create', async () => {
    const ref = firestore()
      .collection('PreconditionCheck')
      .doc(uniqueId('doc').replace(/:/g, '-'));
    let last = Timestamp.fromMillis(0);
    for (let i = 0; i < 20; i++) {
      const created = await ref.create({i});
      assert.ok(
        created.writeTime > last,
        `create ${i} after the previous delete`,
      );
      last = (await ref.delete()).writeTime;
      assert.ok(last > created.writeTime);
    }
  });
});

describe('STRONG on Firestore native mode: round trips and fences', function () {
  this.timeout(30_000);
  const kind = LockKind.STRONG;
  beforeEach(() =>
    configureLocking({
      firestore: firestoreNativeClient(),
      namespace: uniqueId('ns').replace(/:/g, '-'),
    }),
  );
  afterEach(() => sinon.restore());
  after(() => configureLocking());

  it('an uncontended acquire is one create; its release one conditional delete; a renewal one conditional update', async () => {
    await (await Lock.acquire(uniqueId('warm-up'), {kind}))?.release();
    const calls = (['create', 'update', 'delete', 'get', 'query'] as const).map(
      name => [name, sinon.spy(FirestoreCalls.prototype, name)] as const,
    );
    const count = () =>
      Object.fromEntries(
        calls
          .map(([name, spy]) => [name, spy.callCount])
          .filter(([, n]) => n !== 0),
      );
    const held = await Lock.acquire(uniqueId('round-trips'), {
      kind,
      leaseMs: 5_000,
    });
    assert.ok(held);
    assert.deepEqual(count(), {create: 1});
    assert.equal(await held.renew(), true);
    assert.deepEqual(count(), {create: 1, update: 1});
    assert.equal(await held.release(), true);
    assert.deepEqual(count(), {create: 1, update: 1, delete: 1});
  });

  it('the fence strictly increases across forceRelease (delete) and re-create, and across cleanup', async () => {
    const id = uniqueId('fence-delete');
    const first = await Lock.acquire(id, {kind});
    assert.ok(first);
    assert.ok(await forceRelease(id, {kind}));
    const second = await Lock.acquire(id, {kind});
    assert.ok(second);
    await delay(50);
    assert.equal((await cleanupStaleLocks({maxAgeMs: 10})).deleted, 1);
    const third = await Lock.acquire(id, {kind, leaseMs: 5_000});
    assert.ok(third);
    assert.equal(await third.renew(), true);
    assert.equal(
      (await peek(id, {kind}))?.fence,
      third.fence,
      'a renewal keeps the grant fence',
    );
    const fences = [first.fence, second.fence, third.fence] as bigint[];
    assert.ok(
      fences[0]! < fences[1]! && fences[1]! < fences[2]!,
      fences.join(' < '),
    );
    assert.equal(await first.release(), false);
    assert.equal(await third.release(), true);
  });

  it('cleanup deletes an abandoned lock and an expired lease, and keeps a live lease and a fresh lock', async () => {
    const stale = await Lock.acquire(uniqueId('stale'), {kind});
    const expired = await Lock.acquire(uniqueId('expired'), {
      kind,
      leaseMs: 100,
    });
    const live = await Lock.acquire(uniqueId('live'), {kind, leaseMs: 10_000});
    assert.ok(stale && expired && live);
    await delay(300);
    const fresh = await Lock.acquire(uniqueId('fresh'), {kind});
    assert.ok(fresh);
    assert.equal((await cleanupStaleLocks({maxAgeMs: 250})).deleted, 2);
    assert.equal(await peek(stale.identifier, {kind}), null);
    assert.equal(await peek(expired.identifier, {kind}), null);
    assert.equal(
      (await peek(live.identifier, {kind}))?.holderId,
      live.holderId,
    );
    assert.equal(
      (await peek(fresh.identifier, {kind}))?.holderId,
      fresh.holderId,
    );
    await Promise.all([live.release(), fresh.release()]);
  });

  it('cleanup pages past a full page of live locks to the abandoned one behind them', async function () {
    this.timeout(60_000);
    // 500 live leases fill the first page of the acquiredAt query; the abandoned lock comes after them.
    const live: Lock[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const held = await Promise.all(
        Array.from({length: 50}, () =>
          Lock.acquire(uniqueId('live-page'), {kind, leaseMs: 60_000}),
        ),
      );
      live.push(...held.map(lock => lock as Lock));
    }
    const abandoned = await Lock.acquire(uniqueId('behind'), {kind});
    assert.ok(abandoned);
    await delay(300);
    assert.equal((await cleanupStaleLocks({maxAgeMs: 200})).deleted, 1);
    assert.equal(await peek(abandoned.identifier, {kind}), null);
    assert.equal(
      (await peek(live[499]?.identifier as string, {kind}))?.holderId,
      live[499]?.holderId,
    );
  });
});
