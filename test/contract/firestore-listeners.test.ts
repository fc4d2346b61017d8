import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DocumentReference } from '@google-cloud/firestore';
import sinon from 'sinon';
import { configureLocking, Lock, LockKind } from '../../shared';
import * as backoff from '../../shared/backoff';
import { currentRuntime } from '../../shared/config';
import type { FirestoreLockBackend } from '../../shared/firestore/firestore-backend';
import { FirestoreCalls } from '../../shared/firestore/firestore-calls';
import { LINGER_MS } from '../../shared/firestore/lock-watchers';
import { LISTENED_SAFETY_POLL_MS } from '../../shared/waiting';
import { lockKeyName } from '../../shared/datastore/lock-entity';
import { delay, uniqueId } from '../support/ids';
import { firestoreNativeClient, firestoreNativeHost } from '../support/firestore-native-target';
import { TEST_PROJECT } from '../support/global-setup';

/**
 * Listener-driven hand-off on Firestore native mode. Waiters' backoff is stubbed to 20 s, so a
 * waiter that gets a lock within a few seconds can only have been woken by the listener.
 */
describe('Firestore native mode: waiters listen to the lock', function () {
  this.timeout(30_000);
  const kind = LockKind.STRONG;
  let namespace = '';
  const backend = async () => (await currentRuntime().backend(kind)) as FirestoreLockBackend;
  /** Writes and deletes the lock document as another process would: through a client of its own. */
  const otherProcessDoc = (identifier: string) =>
    firestoreNativeClient().collection(`namespaces/${namespace}/DatastoreLock`).doc(lockKeyName(identifier));
  const slowPolling = () => sinon.stub(backoff, 'fullJitterDelayMs').returns(20_000);
  /** Store calls of every lock client in this process, counted from now (spies only count; they change nothing). */
  const countPolls = () => ({ gets: sinon.spy(FirestoreCalls.prototype, 'get'), creates: sinon.spy(FirestoreCalls.prototype, 'create') });
  /** The listener with a way to break its stream as a network failure would: stopped, then its error callback called. */
  const breakableListeners = () => {
    const breaks: (() => void)[] = [];
    const listen = DocumentReference.prototype.onSnapshot;
    sinon.stub(DocumentReference.prototype, 'onSnapshot').callsFake(function (this: DocumentReference, ...args: unknown[]) {
      const onError = args[1] as (error: Error) => void;
      const stop = (listen as (...a: unknown[]) => () => void).apply(this, args);
      breaks.push(() => {
        stop();
        onError(Object.assign(new Error('14 UNAVAILABLE: stream broke'), { code: 14 }));
      });
      return stop;
    });
    return () => breaks.forEach((breakStream) => breakStream());
  };

  beforeEach(() => {
    namespace = uniqueId('listen').replace(/:/g, '-');
    configureLocking({ firestore: firestoreNativeClient(), namespace });
  });
  afterEach(() => sinon.restore());
  after(() => configureLocking());

  it('a waiter acquires the moment another process deletes the lock, without waiting out its backoff', async () => {
    const id = uniqueId('deleted');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    slowPolling();
    const waiter = Lock.acquire(id, { kind, waitForMs: 15_000 });
    await delay(300);
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    assert.ok(next, 'acquired');
    assert.ok(Date.now() - deletedAt < 5_000, `acquired ${Date.now() - deletedAt} ms after the delete, a 20 s backoff notwithstanding`);
    await next.release();
  });

  it("a waiter acquires when the holder's lease runs out, without waiting out its backoff", async () => {
    const id = uniqueId('lease-ends');
    const holder = await Lock.acquire(id, { kind, leaseMs: 500 });
    assert.ok(holder);
    slowPolling();
    const started = Date.now();
    const next = await Lock.acquire(id, { kind, waitForMs: 15_000 });
    assert.ok(next, 'acquired');
    assert.ok(Date.now() - started < 5_000, `acquired after ${Date.now() - started} ms, a 500 ms lease and a 20 s backoff`);
    assert.equal(await holder.release(), false);
    await next.release();
  });

  it('one listener per lock per process, whatever the number of waiters and steal groups, kept through hand-offs; closed once the last waiter has left', async () => {
    const id = uniqueId('one-listener');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const onSnapshot = sinon.spy(DocumentReference.prototype, 'onSnapshot');
    const waiters = [
      ...Array.from({ length: 6 }, () => Lock.acquire(id, { kind, waitForMs: 15_000 })),
      Lock.acquire(id, { kind, waitForMs: 15_000, stealAfterMs: 60_000 }),
    ];
    await delay(300);
    assert.equal(onSnapshot.callCount, 1, 'one listener for seven waiters in two steal groups');
    assert.equal((await backend()).watchers.openListeners(), 1);
    await holder.release();
    const granted = await Promise.all(waiters.map(async (waiter) => {
      const held = await waiter;
      await held?.release();
      return held !== null;
    }));
    assert.deepEqual(granted, waiters.map(() => true), 'every waiter got the lock in turn');
    await delay(LINGER_MS + 200);
    assert.equal((await backend()).watchers.openListeners(), 0, 'closed after the last waiter left');
    assert.equal(onSnapshot.callCount, 1, 'kept while waiters handed the lock on');
  });

  it('polls on when the listener stream breaks', async () => {
    const id = uniqueId('broken');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const broken = sinon.stub(DocumentReference.prototype, 'onSnapshot').callsFake(function (this: DocumentReference, ...args: unknown[]) {
      const onError = args[1] as (error: Error) => void;
      setTimeout(() => onError(Object.assign(new Error('14 UNAVAILABLE: stream broke'), { code: 14 })), 50);
      return () => undefined;
    });
    const waiter = Lock.acquire(id, { kind, waitForMs: 15_000 });
    await delay(300);
    assert.ok(broken.called, 'the waiter listened');
    assert.equal((await backend()).watchers.openListeners(), 0, 'the broken listener was dropped');
    await otherProcessDoc(id).delete();
    const next = await waiter;
    assert.ok(next, 'acquired by polling');
    await next.release();
  });

  it('while the listener is healthy a waiter polls only at the safety interval: reads while waiting 8 s are bounded', async () => {
    const id = uniqueId('bounded');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const { gets, creates } = countPolls();
    const started = Date.now();
    const waiter = await Lock.acquire(id, { kind, waitForMs: 8_000 });
    const waitedMs = Date.now() - started;
    assert.equal(waiter, null, 'the lock stayed held');
    assert.ok(waitedMs >= 8_000, `gave up after ${waitedMs} ms, before its deadline`);
    // One poll at first, a few on the backoff before the listener's first snapshot, one at the
    // safety interval, one at the deadline. Polling on the backoff alone makes about 60 in 8 s.
    assert.ok(gets.callCount <= 8, `${gets.callCount} reads in 8 s of waiting`);
    assert.ok(creates.callCount <= 8, `${creates.callCount} create attempts in 8 s of waiting`);
    assert.ok(gets.callCount >= 2, `${gets.callCount} reads: the safety poll and the last poll at the deadline were made`);
    await holder.release();
  });

  it('a stale lock without a lease is stolen once held longer than stealAfterMs, when its time comes, without a poll storm', async () => {
    const id = uniqueId('stale');
    const stealAfterMs = 1_500;
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const grantedAt = Date.now();
    const { gets } = countPolls();
    const thief = await Lock.acquire(id, { kind, waitForMs: 15_000, stealAfterMs });
    const stolenAfterMs = Date.now() - grantedAt;
    assert.ok(thief, 'stolen');
    assert.ok(stolenAfterMs >= stealAfterMs, `stolen ${stolenAfterMs} ms after the grant, before stealAfterMs`);
    // The safety poll would come LISTENED_SAFETY_POLL_MS after the first: this was the listener's timer.
    assert.ok(stolenAfterMs < LISTENED_SAFETY_POLL_MS - 500, `stolen ${stolenAfterMs} ms after the grant: not told when it became stealable`);
    assert.ok(gets.callCount <= 6, `${gets.callCount} reads while waiting ${stolenAfterMs} ms`);
    assert.equal(await holder.release(), false, 'the old holder lost it');
    await thief.release();
  });

  it('hand-off on delete without waiting for a poll: the waiter polls once, right after the delete', async () => {
    const id = uniqueId('handoff');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const waiter = Lock.acquire(id, { kind, waitForMs: 15_000 });
    await delay(500);
    const { gets, creates } = countPolls();
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    const afterMs = Date.now() - deletedAt;
    assert.ok(next, 'acquired');
    assert.equal(creates.callCount, 1, 'one create, the one that got it');
    assert.equal(gets.callCount, 0, 'no read between the delete and the grant');
    assert.ok(afterMs < LISTENED_SAFETY_POLL_MS - 2_000, `acquired ${afterMs} ms after the delete: not before the safety poll`);
    await next.release();
  });

  it('falls back at once to polling with backoff when a healthy listener\'s stream breaks', async () => {
    const id = uniqueId('falls-back');
    const breakStreams = breakableListeners();
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const waiter = Lock.acquire(id, { kind, waitForMs: 15_000 });
    await delay(500);
    const { gets } = countPolls();
    breakStreams();
    await delay(1_000);
    assert.equal((await backend()).watchers.openListeners(), 0, 'the broken listener was dropped');
    assert.ok(gets.callCount >= 2, `${gets.callCount} polls in the second after the stream broke: not back on the backoff`);
    // Nothing tells the waiter of this delete now: only its polling finds it.
    await otherProcessDoc(id).delete();
    const deletedAt = Date.now();
    const next = await waiter;
    const afterMs = Date.now() - deletedAt;
    assert.ok(next, 'acquired by polling');
    assert.ok(afterMs < LISTENED_SAFETY_POLL_MS - 2_000, `acquired ${afterMs} ms after the delete: still polling at the safety interval`);
    await next.release();
  });

  it('a listener never keeps a process alive: a waiter that gave up lets its process exit by itself', async () => {
    const id = uniqueId('exit');
    const holder = await Lock.acquire(id, { kind });
    assert.ok(holder);
    const child = spawn(process.execPath, [join(__dirname, '../support/firestore-waiter-child.js')], {
      env: { ...process.env, PROJECT: TEST_PROJECT, FIRESTORE_HOST: firestoreNativeHost(), NAMESPACE: namespace, IDENTIFIER: id, WAIT_FOR_MS: '1500' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the child was still alive 20 s later (printed ${JSON.stringify(output)})`));
      }, 20_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0);
    assert.equal(output, 'gave up\n');
    await holder.release();
  });
});
