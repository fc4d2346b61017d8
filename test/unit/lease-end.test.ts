import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {createLocking, LockError, LockKind, type Lock} from '../../shared';
import type {RenewOutcome} from '../../shared/core/backend';
import {MemoryBackend} from '../support/memory-backend';
import {pubsubEvent} from '../support/pubsub-fixtures';

const START = 1_000_000;
const LEASE_MS = 300;

const isLost = (reason: unknown) =>
  reason instanceof LockError && reason.code === 'LOCK_LOST';

/**
 * A lease's end aborts its holder's signal, whatever stopped the renewals, counted from when the
 * last confirmed write was sent; and a signal read after a pause (the clock moved on, no timer has
 * fired yet) is judged on the clock. Fake timers, the in-memory backend.
 */
describe('the end of a lease aborts the signal (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  let backend: MemoryBackend;
  let locking: ReturnType<typeof createLocking>;

  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: START,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'Date'],
    });
    backend = new MemoryBackend();
    locking = createLocking({
      strong: backend,
      retry: {initialMs: 5, maxMs: 20, maxAttempts: 1},
    });
  });
  afterEach(() => sinon.restore());

  /** When (ms after START) the signal's abort event fired, or undefined. */
  function abortTime(held: Lock): () => number | undefined {
    let at: number | undefined;
    held.signal.addEventListener('abort', () => (at = Date.now() - START), {
      once: true,
    });
    return () => at;
  }

  async function acquire(autoRenew: boolean): Promise<Lock> {
    const held = await locking.acquire('lease-end', {
      leaseMs: LEASE_MS,
      autoRenew,
      wait: false,
    });
    assert.ok(held);
    return held;
  }

  it('autoRenew: false: the signal aborts LOCK_LOST at the end of the grant’s lease, not before', async () => {
    const held = await acquire(false);
    const abortedAt = abortTime(held);
    await clock.tickAsync(LEASE_MS - 1);
    assert.equal(abortedAt(), undefined, 'live until the lease ends');
    await clock.tickAsync(1);
    assert.equal(abortedAt(), LEASE_MS);
    assert.ok(isLost(held.signal.reason), String(held.signal.reason));
    assert.match((held.signal.reason as Error).message, /300 ms lease ran out/);
  });

  it('stopRenewing(): the signal aborts at the end of the last renewal’s lease', async () => {
    const held = await acquire(true);
    const abortedAt = abortTime(held);
    await clock.tickAsync(250); // renewed at 100 and 200
    held.stopRenewing();
    assert.deepEqual(
      backend.renewals.map(renewal => renewal.at - START),
      [100, 200],
    );
    await clock.tickAsync(200 + LEASE_MS - 250 - 1);
    assert.equal(abortedAt(), undefined, 'live until the renewed lease ends');
    await clock.tickAsync(1);
    assert.equal(abortedAt(), 200 + LEASE_MS);
    assert.ok(isLost(held.signal.reason));
  });

  it('renewals that never answer (a stalled store): the signal aborts at the end of the grant’s lease', async () => {
    sinon.stub(backend, 'renew').returns(new Promise<RenewOutcome>(() => {}));
    const held = await acquire(true);
    const abortedAt = abortTime(held);
    await clock.tickAsync(LEASE_MS);
    assert.equal(abortedAt(), LEASE_MS);
    assert.ok(isLost(held.signal.reason));
  });

  it('a renewal answered after the lease ended does not un-abort it; the lease counts from the renewal’s send, not its answer', async () => {
    const renew = backend.renew.bind(backend);
    sinon.stub(backend, 'renew').callsFake(async request => {
      const sentAt = Date.now();
      await new Promise(resolve => setTimeout(resolve, 250));
      assert.equal(Date.now() - sentAt, 250);
      return renew(request);
    });
    const held = await acquire(true);
    const abortedAt = abortTime(held);
    // Renewal sent at 100, answered at 350: 50 ms after the grant's lease ended.
    await clock.tickAsync(LEASE_MS);
    assert.equal(abortedAt(), LEASE_MS);
    await clock.tickAsync(100);
    assert.equal(held.signal.aborted, true, 'still aborted after the answer');
  });

  it('after a pause (the clock jumped, no timer has fired): reading the signal judges the clock; renew() is false and writes nothing; release() still removes the lock nobody took', async () => {
    const held = await acquire(false);
    clock.setSystemTime(START + LEASE_MS + 1_000);
    assert.equal(held.signal.aborted, true);
    assert.ok(isLost(held.signal.reason));
    assert.equal(await held.renew(), false);
    assert.deepEqual(backend.renewals, [], 'the lapsed lease was not renewed');
    assert.equal(await held.release(), true);
    assert.equal(backend.locks.size, 0);
  });

  it('a lock released before its lease ended is not reported lost afterwards', async () => {
    const held = await acquire(true);
    await clock.tickAsync(LEASE_MS - 50);
    assert.equal(await held.release(), true);
    await clock.tickAsync(10 * LEASE_MS);
    assert.equal(held.signal.aborted, false);
  });

  it('lock().run(): fn outliving a lease that could not be renewed rejects LOCK_LOST', async () => {
    // A stalled store: the renewal fails long after the lease (release() waits for it).
    sinon
      .stub(backend, 'renew')
      .callsFake(
        () =>
          new Promise<RenewOutcome>((_, reject) =>
            setTimeout(() => reject(new Error('stalled')), 3 * LEASE_MS),
          ),
      );
    let sawAborted: boolean | undefined;
    const run = locking
      .lock('lease-end-run', {leaseMs: LEASE_MS})
      .run(async held => {
        await new Promise(resolve => setTimeout(resolve, LEASE_MS + 50));
        sawAborted = held.signal.aborted;
        return 'done';
      });
    const outcome = run.then(
      value => value,
      (error: unknown) => error,
    );
    await clock.tickAsync(5 * LEASE_MS);
    assert.equal(sawAborted, true);
    assert.ok(isLost(await outcome));
  });

  it("lockedHandler: a handler running past its deadline sees its signal abort when the last renewal's lease ends; the invocation rejects LOCK_LOST", async () => {
    const deadlineMs = 500;
    let abortedAt: number | undefined;
    const handler = locking.lockedHandler(
      {
        identifier: () => 'lease-end-handler',
        kind: LockKind.STRONG,
        leaseMs: LEASE_MS,
        deadlineMs,
      },
      async (_event, held) => {
        held.signal.addEventListener(
          'abort',
          () => (abortedAt = Date.now() - START),
        );
        await new Promise(resolve => setTimeout(resolve, 5 * deadlineMs));
      },
    );
    const outcome = handler(pubsubEvent('projects/p/topics/t', {})).then(
      () => 'acknowledged',
      (error: unknown) => error,
    );
    await clock.tickAsync(5 * deadlineMs + 100);
    const lastRenewal = Math.max(
      ...backend.renewals.map(renewal => renewal.at - START),
    );
    assert.ok(lastRenewal <= deadlineMs, `renewed until ${lastRenewal}`);
    assert.ok(abortedAt !== undefined, 'the signal aborted while it ran');
    assert.ok(
      abortedAt <= lastRenewal + LEASE_MS,
      `aborted at ${abortedAt}, its lease ended at ${lastRenewal + LEASE_MS}`,
    );
    assert.ok(isLost(await outcome), String(await outcome));
  });
});
