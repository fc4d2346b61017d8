import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  cleanupStaleLocks,
  configureLocking,
  FENCE_PROPERTY,
  FENCE_RECORD_KIND,
  Lock,
  LockError,
  LockKind,
  ONCE_KEY_KIND,
  type EntityData,
  type EntityPath,
} from '../../shared';
import {fencedUpdateDocument} from '../../shared/stores/firestore';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import {
  fencedStoreView,
  type FencedStoreView,
} from '../support/fenced-store-view';
import {documentId} from '../../shared/stores/firestore/document-id';
import {firestoreNativeClient} from '../support/firestore-native-target';
import {delay, uniqueId} from '../support/ids';
import {pausedWriterOutcome} from '../support/paused-fenced-writer';
import {memcacheClient} from '../support/memcache-target';
import {STRONG_TARGETS, type StrongTarget} from '../support/strong-targets';

const isCode = (code: string) => (error: unknown) =>
  error instanceof LockError && error.code === code;

const add =
  (amount: number, seen?: (EntityData | undefined)[]) =>
  (current: EntityData | undefined) => {
    seen?.push(current);
    return {balance: Number(current?.balance ?? 0) + amount};
  };

/**
 * The fenced write's commit reaches the store, then its answer is lost: what a deadline after the
 * commit looks like. Only a commit that writes a fence record counts (the Datastore backend also
 * commits on its own, to probe whether the store honours version preconditions).
 */
function loseTheAnswerOnce(sandbox: sinon.SinonSandbox, target: StrongTarget) {
  const lost = Object.assign(new Error('4 DEADLINE_EXCEEDED: injected'), {
    code: 4,
  });
  let armed = true;
  const writesFenceRecord = (args: unknown[]) =>
    target.datastore
      ? JSON.stringify(args[1]).includes(`"kind":"${FENCE_RECORD_KIND}"`)
      : true;
  const rpc = target.datastore
    ? (DatastoreRpc.prototype as unknown as Record<string, unknown>)
    : (FirestoreCalls.prototype as unknown as Record<string, unknown>);
  const stub = sandbox.stub(rpc, 'commit').callsFake(async function (
    this: unknown,
    ...args: unknown[]
  ) {
    const result = await (
      stub.wrappedMethod as (...a: unknown[]) => Promise<unknown>
    ).apply(this, args);
    if (armed && writesFenceRecord(args)) {
      armed = false;
      throw lost;
    }
    return result;
  });
  return {
    fired: () => !armed,
  };
}

/** The contract of `held.fencedUpdate` / `held.fencedDelete`, unchanged on every STRONG store. */
for (const target of STRONG_TARGETS) {
  describe(`held.fencedUpdate and fencedDelete on the ${target.name}`, function () {
    this.timeout(60_000);
    const sandbox = sinon.createSandbox();
    let store: FencedStoreView;
    let path: EntityPath;
    let identifier: string;
    let namespace: string;

    beforeEach(() => {
      namespace = uniqueId('fenced').replace(/:/g, '-');
      store = fencedStoreView(target, namespace);
      configureLocking({...store.config, retry: {initialMs: 5, maxMs: 50}});
      path = ['Account', uniqueId('account/with slash')];
      identifier = uniqueId('fenced-lock');
    });
    afterEach(() => sandbox.restore());
    after(() => configureLocking());

    /** Two grants of one lock, one after the other: the first's fence is lower. */
    async function twoGrants(): Promise<[Lock, Lock]> {
      const first = (await Lock.acquire(identifier)) as Lock;
      await first.release();
      const second = (await Lock.acquire(identifier)) as Lock;
      assert.ok((second.fence as bigint) > (first.fence as bigint));
      return [first, second];
    }

    it('writes the data beside its fence, shows update the data without the fence, allows an equal or higher fence, refuses a lower one with STALE_FENCE and writes nothing', async () => {
      const [first, second] = await twoGrants();
      const seen: (EntityData | undefined)[] = [];
      assert.deepEqual(await first.fencedUpdate(path, add(1, seen)), {
        applied: true,
        data: {balance: 1},
      });
      assert.deepEqual(await store.read(path), {
        balance: 1,
        fence: String(first.fence),
      });
      await first.fencedUpdate(path, add(10, seen));
      await second.fencedUpdate(path, add(100, seen));
      assert.deepEqual(seen, [undefined, {balance: 1}, {balance: 11}]);
      let called = false;
      await assert.rejects(
        first.fencedUpdate(path, () => {
          called = true;
          return {balance: -1};
        }),
        (error: unknown) => {
          assert.ok(isCode('STALE_FENCE')(error), String(error));
          assert.match(
            (error as Error).message,
            new RegExp(`fence ${first.fence}\\b.*fence ${second.fence}\\b`),
          );
          return true;
        },
      );
      assert.equal(
        called,
        false,
        'a stale writer is refused before update runs',
      );
      assert.deepEqual(await store.read(path), {
        balance: 111,
        fence: String(second.fence),
      });
      await second.release();
    });

    it("a fenced delete leaves a tombstone: the stale holder's late write is refused, the data stays gone, and the next fenced write re-creates it from nothing", async () => {
      const [first, second] = await twoGrants();
      await first.fencedUpdate(path, add(5));
      assert.deepEqual(await second.fencedDelete(path), {
        applied: true,
        data: undefined,
      });
      assert.equal(await store.read(path), undefined);
      await assert.rejects(
        first.fencedUpdate(path, add(1)),
        isCode('STALE_FENCE'),
      );
      await assert.rejects(first.fencedDelete(path), isCode('STALE_FENCE'));
      assert.equal(await store.read(path), undefined, 'nothing re-created');
      const seen: (EntityData | undefined)[] = [];
      await second.fencedUpdate(path, add(7, seen));
      assert.deepEqual(seen, [undefined]);
      assert.deepEqual(await store.read(path), {
        balance: 7,
        fence: String(second.fence),
      });
      await second.release();
    });

    it('a plain save or plain delete of the data, which drops the fence, does not let a stale holder write: the fence record keeps the highest fence', async () => {
      const [first, second] = await twoGrants();
      await second.fencedUpdate(path, add(5));
      await store.plainSave(path, {balance: 50});
      await assert.rejects(
        first.fencedUpdate(path, add(1)),
        isCode('STALE_FENCE'),
      );
      assert.deepEqual(await store.read(path), {balance: 50});
      await store.plainDelete(path);
      await assert.rejects(
        first.fencedUpdate(path, add(1)),
        isCode('STALE_FENCE'),
      );
      assert.equal(await store.read(path), undefined);
      await second.release();
    });

    it('a once-key applies once per path: a second write with it applies nothing, runs no update and says duplicate; another path or key applies', async () => {
      const held = (await Lock.acquire(identifier)) as Lock;
      assert.deepEqual(
        await held.fencedUpdate(path, add(1), {onceKey: 'message-1'}),
        {applied: true, data: {balance: 1}},
      );
      let called = false;
      assert.deepEqual(
        await held.fencedUpdate(
          path,
          () => {
            called = true;
            return {balance: 99};
          },
          {onceKey: 'message-1'},
        ),
        {applied: false, reason: 'duplicate'},
      );
      assert.equal(called, false);
      assert.deepEqual(await held.fencedDelete(path, {onceKey: 'message-1'}), {
        applied: false,
        reason: 'duplicate',
      });
      await held.fencedUpdate(path, add(10), {onceKey: 'message-2'});
      const other: EntityPath = ['Account', uniqueId('other')];
      await held.fencedUpdate(other, add(3), {onceKey: 'message-1'});
      assert.equal((await store.read(path))?.balance, 11);
      assert.equal((await store.read(other))?.balance, 3);
      await held.release();
    });

    it('a once-key write whose answer was lost is retried and resolves applied, once; without a once-key it rejects BACKEND_UNAVAILABLE and is not repeated', async () => {
      const held = (await Lock.acquire(identifier)) as Lock;
      let fault = loseTheAnswerOnce(sandbox, target);
      assert.deepEqual(
        await held.fencedUpdate(path, add(1), {onceKey: 'message-1'}),
        {applied: true, data: {balance: 1}},
      );
      assert.ok(fault.fired());
      assert.equal((await store.read(path))?.balance, 1);
      sandbox.restore();
      fault = loseTheAnswerOnce(sandbox, target);
      await assert.rejects(
        held.fencedUpdate(path, add(1)),
        isCode('BACKEND_UNAVAILABLE'),
      );
      assert.ok(fault.fired());
      assert.equal((await store.read(path))?.balance, 2, 'applied once');
      await held.release();
    });

    it('once-keys expire after onceKeyRetentionMs (then the key applies again), and cleanup removes expired records', async () => {
      configureLocking({...store.config, onceKeyRetentionMs: 300});
      const held = (await Lock.acquire(identifier)) as Lock;
      await held.fencedUpdate(path, add(1), {onceKey: 'message-1'});
      assert.equal(await store.onceRecordStored(path, 'message-1'), true);
      await delay(600);
      assert.deepEqual(
        await held.fencedUpdate(path, add(1), {onceKey: 'message-1'}),
        {applied: true, data: {balance: 2}},
        'an expired once-key is forgotten',
      );
      await held.fencedUpdate(path, add(1), {onceKey: 'message-2'});
      await cleanupStaleLocks({now: new Date(Date.now() + 60_000)});
      assert.equal(await store.onceRecordStored(path, 'message-1'), false);
      assert.equal(await store.onceRecordStored(path, 'message-2'), false);
      await held.release();

      // The default retention (7 days), so that no pause on a loaded machine expires it.
      configureLocking(store.config);
      const next = (await Lock.acquire(identifier)) as Lock;
      await next.fencedUpdate(path, add(1), {onceKey: 'message-3'});
      await cleanupStaleLocks();
      assert.equal(
        await store.onceRecordStored(path, 'message-3'),
        true,
        'a live once-key stays',
      );
      assert.deepEqual(
        await next.fencedUpdate(path, add(1), {onceKey: 'message-3'}),
        {applied: false, reason: 'duplicate'},
      );
      await next.release();
    });

    it('concurrent writers with one fence all apply, each update seeing the last (contention is retried)', async () => {
      const held = (await Lock.acquire(identifier)) as Lock;
      const results = await Promise.allSettled(
        Array.from({length: 4}, (_, i) =>
          held.fencedUpdate(path, add(1), {onceKey: `m-${i}`}),
        ),
      );
      const applied = results.filter(r => r.status === 'fulfilled').length;
      for (const result of results)
        if (result.status === 'rejected')
          assert.equal(
            (result.reason as LockError).code,
            'BACKEND_UNAVAILABLE',
            String(result.reason),
          );
      assert.ok(applied >= 1);
      assert.equal((await store.read(path))?.balance, applied);
      await held.release();
    });

    it("a holder paused (SIGSTOP) past its lease while its successor writes is refused STALE_FENCE when it resumes; the successor's write stays", async () => {
      const outcome = await pausedWriterOutcome(
        {
          ...(target.datastore ? {DATASTORE_EMULATOR_HOST: target.host()} : {}),
          STORE: target.store,
          NAMESPACE: namespace,
          IDENTIFIER: identifier,
          LEASE_MS: '1200',
          ACCOUNT: path[1] as string,
        },
        successor =>
          successor.fencedUpdate(path, add(10), {onceKey: 'next-event'}),
      );
      assert.deepEqual(
        {event: outcome.event, code: outcome.code},
        {event: 'refused', code: 'STALE_FENCE'},
      );
      assert.deepEqual(await store.read(path), {
        balance: 10,
        fence: String(outcome.successorFence),
      });
    });

    it('a nested path [kind, name, kind, name] is its own entity (document), fenced on its own', async () => {
      const [first, second] = await twoGrants();
      const child: EntityPath = [...path, 'Entry', 'e/1'];
      await second.fencedUpdate(child, add(2));
      assert.deepEqual(await store.read(child), {
        balance: 2,
        fence: String(second.fence),
      });
      assert.equal(
        await store.read(path),
        undefined,
        'the parent is not written',
      );
      await first.fencedUpdate(path, add(1));
      await assert.rejects(first.fencedDelete(child), isCode('STALE_FENCE'));
      await second.release();
    });

    it('refuses bad input with INVALID_ARGUMENT and writes nothing', async () => {
      const held = (await Lock.acquire(identifier)) as Lock;
      const bad = isCode('INVALID_ARGUMENT');
      const badPaths: unknown[] = [
        undefined,
        'Account/a',
        [],
        ['Account'],
        ['Account', ''],
        ['Account', 'a', 'Sub'],
        ['Account', 1],
        ['__Reserved', 'a'],
        [FENCE_RECORD_KIND, 'a'],
        [ONCE_KEY_KIND, 'a'],
        ['DatastoreLock', 'a'],
      ];
      for (const badPath of badPaths)
        await assert.rejects(
          held.fencedUpdate(badPath as EntityPath, add(1)),
          bad,
          JSON.stringify(badPath),
        );
      await assert.rejects(
        held.fencedUpdate(path, () => ({[FENCE_PROPERTY]: 5})),
        bad,
      );
      await assert.rejects(
        held.fencedUpdate(path, () => null as unknown as EntityData),
        bad,
      );
      await assert.rejects(
        held.fencedUpdate(path, () => [1] as unknown as EntityData),
        bad,
      );
      await assert.rejects(
        held.fencedUpdate(path, 'x' as unknown as () => EntityData),
        bad,
      );
      for (const options of [
        {onceKey: ''},
        {onceKey: 5},
        {onceKey: 'x'.repeat(1501)},
        {oncekey: 'typo'},
        {excludeFromIndexes: 'balance'},
        null,
      ])
        await assert.rejects(
          held.fencedUpdate(path, add(1), options as never),
          bad,
          JSON.stringify(options),
        );
      assert.equal(await store.read(path), undefined, 'nothing was written');
      await held.release();
    });
  });
}

describe('held.fencedUpdate on a WEAK lock', () => {
  after(() => configureLocking());

  it('is refused with INVALID_ARGUMENT: a WEAK lock has no fence', async () => {
    configureLocking({memcache: memcacheClient()});
    const held = await Lock.acquire(uniqueId('weak-fenced'), {
      kind: LockKind.WEAK,
    });
    assert.ok(held);
    await assert.rejects(
      held.fencedUpdate(['Account', 'a'], () => ({balance: 1})),
      (error: unknown) =>
        isCode('INVALID_ARGUMENT')(error) &&
        /WEAK lock has no fence/.test((error as Error).message),
    );
    await assert.rejects(
      held.fencedDelete(['Account', 'a']),
      isCode('INVALID_ARGUMENT'),
    );
    await held.release();
  });
});

describe('fencedUpdateDocument on the Firestore native mode emulator', function () {
  this.timeout(30_000);
  after(() => configureLocking());

  it("shares the held lock's fence record: a lower fence is refused STALE_FENCE, once-keys apply once, a WEAK lock's missing fence is refused", async () => {
    const namespace = uniqueId('fenced').replace(/:/g, '-');
    const store = fencedStoreView(
      STRONG_TARGETS.find(target => target.store === 'firestore')!,
      namespace,
    );
    configureLocking(store.config);
    const path: EntityPath = ['Account', uniqueId('account')];
    const identifier = uniqueId('fenced-document');
    const first = (await Lock.acquire(identifier)) as Lock;
    await first.release();
    const second = (await Lock.acquire(identifier)) as Lock;
    await second.fencedUpdate(path, add(5));
    const firestore = firestoreNativeClient();
    const ref = firestore.doc(
      `namespaces/${namespace}/${path[0]}/${documentId(path[1] as string)}`,
    );
    await assert.rejects(
      fencedUpdateDocument(ref, first.fence, add(1)),
      isCode('STALE_FENCE'),
    );
    assert.deepEqual(
      await fencedUpdateDocument(ref, second.fence, add(1), {onceKey: 'm'}),
      {applied: true, data: {balance: 6}},
    );
    assert.deepEqual(
      await fencedUpdateDocument(ref, second.fence, add(1), {onceKey: 'm'}),
      {applied: false, reason: 'duplicate'},
    );
    assert.deepEqual(await store.read(path), {
      balance: 6,
      fence: String(second.fence),
    });
    await assert.rejects(
      fencedUpdateDocument(ref, undefined, add(1)),
      isCode('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      fencedUpdateDocument(
        firestore.doc(`${FENCE_RECORD_KIND}/x`),
        second.fence,
        add(1),
      ),
      isCode('INVALID_ARGUMENT'),
    );
    await second.release();
  });
});
