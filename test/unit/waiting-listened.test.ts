import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import type {LockWatch} from '../../shared/core/backend';
import {DEFAULT_WAIT_BACKOFF} from '../../shared/core/backoff';
import {LocalWaitQueue} from '../../shared/core/local-queue';
import {
  acquireWithWaiting,
  LISTENED_SAFETY_POLL_MS,
  type WaitSettings,
} from '../../shared/core/waiting';
import {MemoryBackend} from '../support/memory-backend';

const ID = 'unit-listened-lock';
const retry = {initialMs: 10, maxMs: 40, multiplier: 2, maxAttempts: 3};

/** A store that pushes changes, as Firestore's listeners do: the test decides when it is healthy and what it tells. */
class WatchedBackend extends MemoryBackend {
  healthy = true;
  readonly watches: {
    stealAfterMs: number | undefined;
    stopped: boolean;
    tell: () => void;
  }[] = [];

  watch(
    _identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch {
    const entry = {stealAfterMs, stopped: false, tell: onChange};
    this.watches.push(entry);
    // The watch reports the backend's health as it is when asked, not when the watch began.
    const healthyNow = (): boolean => this.healthy;
    return {
      get healthy() {
        return healthyNow();
      },
      stop: () => {
        entry.stopped = true;
      },
    };
  }
}

describe('waiting on a store that pushes changes (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  let backend: WatchedBackend;
  let settings: WaitSettings;
  let tokens = 0;
  const request = (extra: {stealAfterMs?: number} = {}) => ({
    identifier: ID,
    token: `token-${++tokens}`,
    ...extra,
  });
  const pollTimes = () =>
    backend.attempts.map(attempt => attempt.at - 1_000_000);

  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
    sinon.stub(Math, 'random').returns(1);
    backend = new WatchedBackend();
    settings = {
      backend,
      queue: new LocalWaitQueue(),
      waitBackoff: DEFAULT_WAIT_BACKOFF,
      retry,
    };
  });
  afterEach(() => sinon.restore());

  it('while the watch is healthy, polls only at the safety interval, and once more at the deadline', async () => {
    backend.hold(ID);
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 8_000,
    });
    await clock.tickAsync(8_000);
    assert.equal(await result, null);
    assert.deepEqual(pollTimes(), [0, LISTENED_SAFETY_POLL_MS, 8_000]);
  });

  it('polls on the backoff until the listener is healthy (its first snapshot)', async () => {
    backend.healthy = false;
    backend.hold(ID);
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 6_000,
    });
    await clock.tickAsync(50);
    backend.healthy = true;
    await clock.tickAsync(5_950);
    assert.equal(await result, null);
    assert.deepEqual(pollTimes(), [
      0,
      20,
      60,
      60 + LISTENED_SAFETY_POLL_MS,
      6_000,
    ]);
  });

  it('polls the moment the store tells of a change, and gets the lock', async () => {
    backend.hold(ID);
    const result = acquireWithWaiting(
      settings,
      request({stealAfterMs: 3_000}),
      {wait: true, waitForMs: 10_000},
    );
    await clock.tickAsync(1_000);
    backend.locks.delete(ID);
    backend.watches[0]?.tell();
    await clock.tickAsync(0);
    assert.ok(await result);
    assert.deepEqual(pollTimes(), [0, 1_000]);
    assert.equal(backend.watches.length, 1, 'one watch for the poller');
    assert.equal(
      backend.watches[0]?.stealAfterMs,
      3_000,
      "the watch knows the waiter's steal setting",
    );
    assert.equal(
      backend.watches[0]?.stopped,
      true,
      'stopped once the waiter left',
    );
  });

  it('falls back at once to the backoff when the stream breaks', async () => {
    backend.hold(ID);
    const result = acquireWithWaiting(settings, request(), {
      wait: true,
      waitForMs: 1_500,
    });
    await clock.tickAsync(1_000);
    backend.healthy = false;
    backend.watches[0]?.tell();
    await clock.tickAsync(500);
    assert.equal(await result, null);
    assert.deepEqual(
      pollTimes(),
      [0, 1_000, 1_020, 1_060, 1_140, 1_300, 1_500],
    );
  });
});
