import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DocumentReference } from '@google-cloud/firestore';
import sinon from 'sinon';
import { configureLocking, Lock, LockKind } from '../../shared';
import * as backoff from '../../shared/backoff';
import { currentRuntime } from '../../shared/config';
import type { FirestoreLockBackend } from '../../shared/firestore/firestore-backend';
import { LINGER_MS } from '../../shared/firestore/lock-watchers';
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
