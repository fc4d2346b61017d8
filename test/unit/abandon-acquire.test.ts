import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {LockKind} from '../../shared';
import {
  ABANDON_SETTLED_MS,
  ABANDON_WINDOW_MS,
  abandonAcquire,
} from '../../shared/core/attempts';
import {BackendCallError} from '../../shared/core/errors';
import {MemoryBackend} from '../support/memory-backend';

const request = {identifier: 'unit-orphan', token: 'failed-grant'};
const unavailable = () =>
  new BackendCallError(
    'injected: store unavailable',
    {retryable: true, mayHaveApplied: true, contention: false},
    {kind: LockKind.STRONG},
  );

/**
 * The clean-up of a failed acquire whose write may have landed unseen: it keeps releasing in the
 * background while the store is down, removes the write once it lands, and stops, both when the
 * store has answered long enough without it and when its window is over.
 */
describe('abandoning a failed acquire (fake timers)', () => {
  let clock: sinon.SinonFakeTimers;
  let backend: MemoryBackend;
  let release: sinon.SinonStub;
  /** The store answers from this time on; before it, every call fails. */
  let resumesAt = Infinity;
  /** The failed grant's write lands at this time (a stalled store applying what it received). */
  let landsAt = Infinity;

  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
    backend = new MemoryBackend();
    resumesAt = Infinity;
    landsAt = Infinity;
    release = sinon
      .stub(backend, 'release')
      .callsFake(async (identifier, token) => {
        if (Date.now() < resumesAt) throw unavailable();
        if (Date.now() >= landsAt && !backend.locks.has(identifier)) {
          landsAt = Infinity;
          backend.locks.set(identifier, {...request, acquiredAt: new Date()});
        }
        return release.wrappedMethod.call(backend, identifier, token);
      });
  });
  afterEach(() => sinon.restore());

  it('nothing to do when no write of ours may have landed', async () => {
    await abandonAcquire(backend, request, {mayHoldIt: false});
    await clock.tickAsync(ABANDON_WINDOW_MS);
    assert.equal(release.callCount, 0);
  });

  it('a store that stays down: keeps trying for ABANDON_WINDOW_MS, then stops', async () => {
    await abandonAcquire(backend, request, {mayHoldIt: true});
    await clock.tickAsync(ABANDON_WINDOW_MS);
    const tries = release.callCount;
    assert.ok(tries > 10, `tried ${tries} times`);
    await clock.tickAsync(ABANDON_WINDOW_MS);
    assert.ok(
      release.callCount <= tries + 1,
      `${release.callCount - tries} more tries after the window`,
    );
  });

  it('a write that lands when the store resumes, after the caller was told it failed, is removed', async () => {
    resumesAt = Date.now() + 30_000;
    landsAt = resumesAt + ABANDON_SETTLED_MS / 2;
    await abandonAcquire(backend, request, {mayHoldIt: true});
    await clock.tickAsync(30_000 + ABANDON_SETTLED_MS);
    assert.equal(backend.locks.has(request.identifier), false);
    const tries = release.callCount;
    await clock.tickAsync(ABANDON_WINDOW_MS);
    assert.equal(release.callCount, tries, 'no try after it was removed');
  });

  it('stops once the store has answered for ABANDON_SETTLED_MS without our lock', async () => {
    resumesAt = Date.now() + 5_000;
    await abandonAcquire(backend, request, {mayHoldIt: true});
    await clock.tickAsync(5_000 + ABANDON_SETTLED_MS + 1_000);
    const tries = release.callCount;
    await clock.tickAsync(ABANDON_WINDOW_MS);
    assert.equal(release.callCount, tries);
  });
});
