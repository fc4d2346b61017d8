import {strict as assert} from 'node:assert';
import {runToEnd} from '../../infra/spawn-and-wait';
import {join} from 'node:path';
import {DocumentReference} from '@google-cloud/firestore';
import sinon from 'sinon';
import {configureLocking, Lock, LockKind} from '../../shared';
import * as backoff from '../../shared/core/backoff';
import {currentRuntime} from '../../shared/configuration/config';
import type {FirestoreLockBackend} from '../../shared/stores/firestore/firestore-backend';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import {LINGER_MS} from '../../shared/stores/firestore/lock-watchers';
import {LISTENED_SAFETY_POLL_MS} from '../../shared/core/waiting';
import {lockKeyName} from '../../shared/stores/common/lock-key-name';
import {delay, uniqueId} from '../support/ids';
import {
  firestoreNativeClient,
  firestoreNativeHost,
} from '../support/firestore-native-target';
import {TEST_PROJECT} from '../support/global-setup';

/**
 * Listener-driven hand-off on Firestore native mode. Waiters' backoff is stubbed to 20 s, so a
 * waiter that gets a lock within a few seconds can only have been woken by the listener.
 */
describe('Firestore native mode: waiters listen to the lock', function () {
  this.timeout(30_000);
  const kind = LockKind.STRONG;
  let namespace = '';
  const backend = async () =>
    (await currentRuntime().backend(kind)) as FirestoreLockBackend;
  /** Writes and deletes the lock document as another process would: through a client of its own. */
  const otherProcessDoc = (identifier: string) =>
    firestoreNativeClient()
      .collection(`namespaces/${namespace}/DatastoreLock`)
      .doc(lockKeyName(identifier));
  const slowPolling = () =>
    sinon.stub(backoff, 'fullJitterDelayMs').returns(20_000);
  /** Store calls of every lock client in this process, counted from now (spies only count; they change nothing). */
  const countPolls = () => ({
    gets: sinon.spy(FirestoreCalls.prototype, 'get'),
    creates: sinon.spy(FirestoreCalls.prototype, 'create'),
  });
  /** Resolves once the lock's listener in this process is healthy (its first snapshot arrived): from then on waiters poll only when told. */
  const untilListening = async (identifier: string) => {
    const watchers = (await backend()).watchers;
    for (
      const started = Date.now();
      !watchers.listening(identifier);
      await delay(20)
    ) {
      if (Date.now() - started > 15_000)
        throw new Error(
          'the listener did not deliver its first snapshot within 15 s',
        );
    }
  };
  /** The listener with a way to break its stream as a network failure would: stopped, then its error callback called. */
  const breakableListeners = () => {
    const breaks: (() => void)[] = [];
    const listen = DocumentReference.prototype.onSnapshot;
    sinon.stub(DocumentReference.prototype, 'onSnapshot').callsFake(function (
      this: DocumentReference,
      ...args: unknown[]
    ) {
      const onError = args[1] as (error: Error) => void;
      const stop = (listen as (...a: unknown[]) => () => void).apply(
        this,
        args,
      );
      breaks.push(() => {
        stop();
        onError(
          Object.assign(new Error('14 UNAVAILABLE: stream broke'), {code: 14}),
        );
      });
      return stop;
    });
    return () => breaks.forEach(breakStream => breakStream());
  };

  beforeEach(() => {
    namespace = uniqueId('listen').replace(/:/g, '-');
    configureLocking({firestore: firestoreNativeClient(), namespace});
  });
  afterEach(() => sinon.restore());
  after(() => configureLocking());

  it('a waiter acquires the moment another process deletes the lock, without waiting out its backoff', async () => {
    const id = uniqueId('deleted');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    slowPolling();
    const waiter = Lock.acquire(id, {kind, waitForMs: 15_000});
    await delay(300);
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    assert.ok(next, 'acquired');
    assert.ok(
      Date.now() - deletedAt < 5_000,
      `acquired ${Date.now() - deletedAt} ms after the delete, a 20 s backoff notwithstanding`,
    );
    await next.release();
  });

  it("a waiter acquires when the holder's lease runs out, without waiting out its backoff", async () => {
    const id = uniqueId('lease-ends');
    const holder = await Lock.acquire(id, {kind, leaseMs: 500});
    assert.ok(holder);
    slowPolling();
    const started = Date.now();
    const next = await Lock.acquire(id, {kind, waitForMs: 15_000});
    assert.ok(next, 'acquired');
    assert.ok(
      Date.now() - started < 5_000,
      `acquired after ${Date.now() - started} ms, a 500 ms lease and a 20 s backoff`,
    );
    assert.equal(await holder.release(), false);
    await next.release();
  });

  it('one listener per lock per process, whatever the number of waiters and steal groups, kept through hand-offs; closed once the last waiter has left', async () => {
    const id = uniqueId('one-listener');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const onSnapshot = sinon.spy(DocumentReference.prototype, 'onSnapshot');
    const waiters = [
      ...Array.from({length: 6}, () =>
        Lock.acquire(id, {kind, waitForMs: 15_000}),
      ),
      Lock.acquire(id, {kind, waitForMs: 15_000, stealAfterMs: 60_000}),
    ];
    await delay(300);
    assert.equal(
      onSnapshot.callCount,
      1,
      'one listener for seven waiters in two steal groups',
    );
    assert.equal((await backend()).watchers.openListeners(), 1);
    await holder.release();
    const granted = await Promise.all(
      waiters.map(async waiter => {
        const held = await waiter;
        await held?.release();
        return held !== null;
      }),
    );
    assert.deepEqual(
      granted,
      waiters.map(() => true),
      'every waiter got the lock in turn',
    );
    await delay(LINGER_MS + 200);
    assert.equal(
      (await backend()).watchers.openListeners(),
      0,
      'closed after the last waiter left',
    );
    assert.equal(
      onSnapshot.callCount,
      1,
      'kept while waiters handed the lock on',
    );
  });

  it('polls on when the listener stream breaks', async () => {
    const id = uniqueId('broken');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const broken = sinon
      .stub(DocumentReference.prototype, 'onSnapshot')
      .callsFake((...args: unknown[]) => {
        const onError = args[1] as (error: Error) => void;
        setTimeout(
          () =>
            onError(
              Object.assign(new Error('14 UNAVAILABLE: stream broke'), {
                code: 14,
              }),
            ),
          50,
        );
        return () => undefined;
      });
    const waiter = Lock.acquire(id, {kind, waitForMs: 15_000});
    await delay(300);
    assert.ok(broken.called, 'the waiter listened');
    assert.equal(
      (await backend()).watchers.openListeners(),
      0,
      'the broken listener was dropped',
    );
    await otherProcessDoc(id).delete();
    const next = await waiter;
    assert.ok(next, 'acquired by polling');
    await next.release();
  });

  it('while the listener is healthy a waiter polls only at the safety interval: reads while waiting 6 s are bounded', async () => {
    const id = uniqueId('bounded');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const waiter = Lock.acquire(id, {kind, waitForMs: 30_000});
    await untilListening(id);
    const {gets, creates} = countPolls();
    await delay(6_000);
    const [reads, createAttempts] = [gets.callCount, creates.callCount];
    // The safety poll, once or twice in 6 s; polling on the backoff alone made 39.
    assert.ok(
      reads >= 1 && reads <= 3,
      `${reads} reads in 6 s of waiting on a healthy listener`,
    );
    assert.ok(
      createAttempts <= 3,
      `${createAttempts} create attempts in 6 s of waiting on a healthy listener`,
    );
    await holder.release();
    const next = await waiter;
    assert.ok(next, 'acquired once released');
    await next.release();
  });

  it('a stale lock without a lease is stolen once held longer than stealAfterMs, when its time comes, without a poll storm', async () => {
    const id = uniqueId('stale');
    const stealAfterMs = 3_000;
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const grantedAt = Date.now();
    const thief = Lock.acquire(id, {kind, waitForMs: 20_000, stealAfterMs});
    await untilListening(id);
    const {gets} = countPolls();
    const listeningAt = Date.now();
    const stolen = await thief;
    const stolenAfterMs = Date.now() - grantedAt;
    assert.ok(stolen, 'stolen');
    assert.ok(
      stolenAfterMs >= stealAfterMs,
      `stolen ${stolenAfterMs} ms after the grant, before stealAfterMs`,
    );
    // The next safety poll would come LISTENED_SAFETY_POLL_MS after the listener was up: this was its timer.
    assert.ok(
      Date.now() - listeningAt < LISTENED_SAFETY_POLL_MS - 500,
      `stolen ${Date.now() - listeningAt} ms after the listener was up: not told when it became stealable`,
    );
    assert.ok(
      gets.callCount <= 3,
      `${gets.callCount} reads while waiting ${stolenAfterMs} ms`,
    );
    assert.equal(await holder.release(), false, 'the old holder lost it');
    await stolen.release();
  });

  it('hand-off on delete without waiting for a poll: the waiter polls once, right after the delete', async () => {
    const id = uniqueId('handoff');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const waiter = Lock.acquire(id, {kind, waitForMs: 15_000});
    await untilListening(id);
    await delay(300);
    const {gets, creates} = countPolls();
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    const afterMs = Date.now() - deletedAt;
    assert.ok(next, 'acquired');
    assert.equal(creates.callCount, 1, 'one create, the one that got it');
    assert.equal(gets.callCount, 0, 'no read between the delete and the grant');
    assert.ok(
      afterMs < LISTENED_SAFETY_POLL_MS - 2_000,
      `acquired ${afterMs} ms after the delete: not before the safety poll`,
    );
    await next.release();
  });

  it("falls back at once to polling with backoff when a healthy listener's stream breaks", async () => {
    const id = uniqueId('falls-back');
    const breakStreams = breakableListeners();
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const waiter = Lock.acquire(id, {kind, waitForMs: 15_000});
    await untilListening(id);
    await delay(300);
    const {gets} = countPolls();
    breakStreams();
    await delay(1_000);
    assert.equal(
      (await backend()).watchers.openListeners(),
      0,
      'the broken listener was dropped',
    );
    assert.ok(
      gets.callCount >= 2,
      `${gets.callCount} polls in the second after the stream broke: not back on the backoff`,
    );
    // Nothing tells the waiter of this delete now: only its polling finds it.
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    const afterMs = Date.now() - deletedAt;
    assert.ok(next, 'acquired by polling');
    assert.ok(
      afterMs < LISTENED_SAFETY_POLL_MS - 2_000,
      `acquired ${afterMs} ms after the delete: still polling at the safety interval`,
    );
    await next.release();
  });

  it('a listener never keeps a process alive: a waiter that gave up lets its process exit by itself', async () => {
    const id = uniqueId('exit');
    const holder = await Lock.acquire(id, {kind});
    assert.ok(holder);
    const child = await runToEnd(
      process.execPath,
      [join(__dirname, '../support/firestore-waiter-child.js')],
      {
        env: {
          ...process.env,
          PROJECT: TEST_PROJECT,
          FIRESTORE_HOST: firestoreNativeHost(),
          NAMESPACE: namespace,
          IDENTIFIER: id,
          WAIT_FOR_MS: '1500',
        },
        timeoutMs: 20_000,
      },
    );
    assert.equal(
      child.signal,
      null,
      `the child was still alive 20 s later (printed ${JSON.stringify(child.output)})`,
    );
    assert.equal(child.code, 0, child.stderr);
    assert.equal(child.stdout, 'gave up\n');
    await holder.release();
  });
});
