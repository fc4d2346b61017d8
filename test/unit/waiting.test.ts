import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {DEFAULT_WAIT_BACKOFF} from '../../shared/core/backoff';
import {BackendCallError} from '../../shared/core/errors';
import {LockKind} from '../../shared';
import {LocalWaitQueue} from '../../shared/core/local-queue';
import {acquireWithWaiting, type WaitSettings} from '../../shared/core/waiting';
import {MemoryBackend} from '../support/memory-backend';

const ID = 'unit-lock';
const retry = {initialMs: 10, maxMs: 40, multiplier: 2, maxAttempts: 3};

describe('waiting for a lock (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  let backend: MemoryBackend;
  let settings: WaitSettings;
  let tokens = 0;
  const request = (extra: {stealAfterMs?: number} = {}) => ({
    identifier: ID,
    token: `token-${++tokens}`,
    ...extra,
  });

  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
    // The top of every jitter range, so the schedule is exact.
    sinon.stub(Math, 'random').returns(1);
    backend = new MemoryBackend();
    settings = {
      backend,
      queue: new LocalWaitQueue(),
      waitBackoff: DEFAULT_WAIT_BACKOFF,
      retry,
    };
  });
  afterEach(() => sinon.restore());

  const pollTimes = () =>
    backend.attempts.map(attempt => attempt.at - 1_000_000);

  it('wait: false makes exactly one attempt', async () => {
    backend.hold(ID);
    assert.equal(
      await acquireWithWaiting(settings, request(), {
        wait: false,
        waitForMs: undefined,
      }),
      null,
    );
    assert.equal(backend.attempts.length, 1);
  });

  it('polls on the backoff schedule and gives up at waitForMs with one last attempt there', async () => {
    backend.hold(ID);
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 1000,
    });
    await clock.tickAsync(1000);
    assert.equal(await result, null);
    assert.deepEqual(pollTimes(), [0, 20, 60, 140, 300, 550, 800, 1000]);
  });

  it('acquires at the first poll after the holder releases', async () => {
    backend.hold(ID);
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: undefined,
    });
    await clock.tickAsync(100);
    backend.locks.delete(ID);
    await clock.tickAsync(40);
    const record = await result;
    assert.ok(record);
    assert.deepEqual(pollTimes(), [0, 20, 60, 140]);
  });

  it('local waiters queue: only the first polls the store', async () => {
    backend.hold(ID);
    const waiters = Array.from({length: 5}, () =>
      acquireWithWaiting(settings, request(), {wait: true, waitForMs: 1000}),
    );
    await clock.tickAsync(1000);
    assert.deepEqual(
      pollTimes(),
      [0, 20, 60, 140, 300, 550, 800, 1000],
      'the same polls as one waiter',
    );
    assert.equal(
      new Set(backend.attempts.map(attempt => attempt.token)).size,
      1,
    );
    assert.deepEqual(await Promise.all(waiters), [
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('a local release wakes the polling waiter at once, and the next in line takes over', async () => {
    backend.hold(ID);
    const first = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: undefined,
    });
    const second = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: undefined,
    });
    await clock.tickAsync(500);
    const pollsBefore = backend.attempts.length;
    backend.locks.delete(ID);
    settings.queue.wake(LockKind.STRONG, ID);
    await clock.tickAsync(0);
    const record = await first;
    assert.ok(
      record,
      'the woken waiter acquired without waiting out its backoff',
    );
    assert.equal(
      backend.attempts.length,
      pollsBefore + 2,
      'one poll that acquired, one first poll by the next waiter',
    );
    assert.notEqual(backend.attempts.at(-1)?.token, record.record.token);
    backend.locks.delete(ID);
    settings.queue.wake(LockKind.STRONG, ID);
    await clock.tickAsync(0);
    assert.ok(await second);
    assert.equal(
      settings.queue.size(LockKind.STRONG, ID),
      0,
      'the queue is empty once everyone left',
    );
  });

  it('a queued waiter whose waitForMs runs out leaves without a store call', async () => {
    backend.hold(ID);
    void acquireWithWaiting(settings, request(), {wait: true, waitForMs: 5000});
    const queued = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 100,
    });
    await clock.tickAsync(100);
    assert.equal(await queued, null);
    assert.equal(
      new Set(backend.attempts.map(attempt => attempt.token)).size,
      1,
      'only the first waiter polled',
    );
    assert.equal(settings.queue.size(LockKind.STRONG, ID), 1);
    await clock.tickAsync(5000);
  });

  it('a waiter that may steal is not stuck behind one that may not', async () => {
    backend.hold(ID);
    const patient = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 2000,
    });
    const thief = acquireWithWaiting(settings, request({stealAfterMs: 300}), {
      wait: true,
      waitForMs: 2000,
    });
    await clock.tickAsync(600);
    const stolen = await thief;
    assert.ok(stolen, 'the thief stole the stale lock');
    assert.equal(backend.locks.get(ID)?.token, stolen.record.token);
    await clock.tickAsync(2000);
    assert.equal(await patient, null);
  });

  it('a STRONG and a WEAK lock of one name never queue behind each other', async () => {
    backend.hold(ID);
    const weakBackend = new MemoryBackend(LockKind.WEAK);
    const strongWaiter = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 1000,
    });
    const weakWaiter = acquireWithWaiting(
      {...settings, backend: weakBackend},
      request(),
      {wait: true, waitForMs: 1000},
    );
    await clock.tickAsync(0);
    const weak = await Promise.race([
      weakWaiter,
      clock.tickAsync(10).then(() => 'still waiting' as const),
    ]);
    assert.notEqual(
      weak,
      'still waiting',
      'the WEAK waiter is not queued behind the STRONG one',
    );
    assert.ok(weak, 'the free WEAK lock was granted at once');
    assert.deepEqual(
      weakBackend.attempts.map(attempt => attempt.at - 1_000_000),
      [0],
    );
    assert.equal(settings.queue.size(LockKind.WEAK, ID), 0);
    assert.equal(settings.queue.size(LockKind.STRONG, ID), 1);
    await clock.tickAsync(1000);
    assert.equal(await strongWaiter, null);
  });

  it('a release wakes waiters of its own kind only', async () => {
    backend.hold(ID);
    const weakBackend = new MemoryBackend(LockKind.WEAK);
    weakBackend.hold(ID);
    const strongWaiter = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 2000,
    });
    const weakWaiter = acquireWithWaiting(
      {...settings, backend: weakBackend},
      request(),
      {wait: true, waitForMs: 2000},
    );
    await clock.tickAsync(500);
    const weakPolls = weakBackend.attempts.length;
    backend.locks.delete(ID);
    settings.queue.wake(LockKind.STRONG, ID);
    await clock.tickAsync(0);
    assert.ok(await strongWaiter);
    assert.equal(
      weakBackend.attempts.length,
      weakPolls,
      'the WEAK waiter was not woken by a STRONG release',
    );
    await clock.tickAsync(2000);
    assert.equal(await weakWaiter, null);
  });

  it('finds its own lock when its write lands after a later poll saw the lock held', async () => {
    // The first insert reaches the store late and its answer is lost; meanwhile the lock is held by
    // someone else, who then releases, and the late insert lands: the lock now carries our token.
    const other = backend.hold(ID);
    const ambiguous = new BackendCallError(
      'deadline',
      {retryable: true, mayHaveApplied: true, contention: false},
      {kind: LockKind.STRONG},
    );
    backend.failures.push(ambiguous);
    const mine = request();
    const result = acquireWithWaiting(settings, mine, {
      wait: true,
      waitForMs: 60_000,
    });
    await clock.tickAsync(200);
    assert.equal(backend.locks.get(ID), other);
    backend.locks.set(ID, {
      identifier: ID,
      token: mine.token,
      acquiredAt: new Date(),
      fence: 99n,
    });
    const pollsBefore = backend.attempts.length;
    await clock.tickAsync(300);
    const record = await Promise.race([
      result,
      clock.tickAsync(1).then(() => 'still waiting' as const),
    ]);
    assert.notEqual(record, 'still waiting', 'it stopped waiting on itself');
    assert.equal(
      record && typeof record === 'object' ? record.record.token : undefined,
      mine.token,
    );
    assert.ok(backend.attempts.length - pollsBefore <= 2, 'at the next poll');
  });

  it('a lock found carrying its own token is its own, even without a lost answer', async () => {
    const mine = request();
    backend.locks.set(ID, {
      identifier: ID,
      token: mine.token,
      acquiredAt: new Date(),
      fence: 7n,
    });
    const stub = sinon.stub(backend, 'tryAcquire').callsFake(async req => {
      backend.attempts.push({at: Date.now(), token: req.token});
      return {acquired: false, holder: backend.locks.get(ID) ?? null};
    });
    const record = await acquireWithWaiting(settings, mine, {
      wait: false,
      waitForMs: undefined,
    });
    assert.equal(record?.record.token, mine.token);
    assert.equal(record?.record.fence, 7n);
    assert.equal(stub.callCount, 1);
  });

  it('a grant that arrives after the signal aborted is released and reported as not acquired', async () => {
    const controller = new AbortController();
    const tryAcquire = backend.tryAcquire.bind(backend);
    sinon.stub(backend, 'tryAcquire').callsFake(async req => {
      const outcome = await tryAcquire(req);
      controller.abort();
      return outcome;
    });
    const result = await acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: undefined,
      signal: controller.signal,
    });
    assert.equal(result, null);
    assert.equal(backend.locks.size, 0, 'the grant was released');
  });

  it('keeps waiting through contention errors, which mean the lock is busy', async () => {
    const contention = () =>
      new BackendCallError(
        'aborted',
        {retryable: true, mayHaveApplied: false, contention: true},
        {kind: LockKind.STRONG},
      );
    backend.failures.push(contention(), contention(), contention());
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 1000,
    });
    await clock.tickAsync(200);
    assert.ok(await result, 'acquired once the contention cleared');
  });

  it('a store that stays unavailable ends the wait with the error, not a hang', async () => {
    const unavailable = () =>
      new BackendCallError(
        'down',
        {retryable: true, mayHaveApplied: false, contention: false},
        {kind: LockKind.STRONG},
      );
    backend.failures.push(unavailable(), unavailable(), unavailable());
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: undefined,
    });
    const settled = result.then(
      () => 'resolved',
      (error: unknown) =>
        error instanceof BackendCallError ? error.code : 'other',
    );
    await clock.tickAsync(100);
    assert.equal(await settled, 'BACKEND_UNAVAILABLE');
    assert.equal(backend.attempts.length, retry.maxAttempts);
  });
});
