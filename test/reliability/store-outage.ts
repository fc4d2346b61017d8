import {Datastore} from '@google-cloud/datastore';
import {startEmulator, type EmulatorName} from '../../infra/emulators';
import type {RunningService} from '../../infra/processes';
import {configureLocking, Lock, LockError} from '../../shared';
import {delay} from './child-process';
import type {ScenarioResult} from './report';

const WORKERS = 4;
const IDENTIFIERS = 2;
const RPC_TIMEOUT_MS = 1000;
const RETRY = {maxAttempts: 3, initialMs: 50, maxMs: 200};
/** A failed call must end within this: the deadline times the attempts, plus backoff and slack. */
const FAILURE_BOUND_MS = RPC_TIMEOUT_MS * RETRY.maxAttempts + 2000;
const BEFORE_KILL_MS = 3000;
const DOWN_MS = 4000;
const AFTER_RESTART_MS = 8000;

interface Phases {
  killedAt: number;
  /** The store's process group is gone: a grant from here until the restart begins would be a lie. */
  goneAt: number;
  restartBeganAt: number;
  restartedAt: number;
}

/**
 * Store outage: the Datastore emulator is stopped mid-run (its process group killed) and restarted on
 * the same port. Lock calls must fail within a bounded time with LockError BACKEND_UNAVAILABLE, no
 * grant may be handed out while the store is down, no two workers may be inside a critical section
 * of one identifier at once, a holder whose lock the outage wiped (the emulator keeps data in
 * memory) must hear `false` from release, never `true`, and work must resume after the restart.
 */
export async function storeOutage(
  emulator: EmulatorName,
  project: string,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  let store: RunningService = await startEmulator(emulator);
  const port = store.port;
  const datastore = new Datastore({
    projectId: project,
    apiEndpoint: store.host,
  });
  configureLocking({datastore, rpcTimeoutMs: RPC_TIMEOUT_MS, retry: RETRY});
  const phases: Phases = {
    killedAt: Infinity,
    goneAt: Infinity,
    restartBeganAt: Infinity,
    restartedAt: Infinity,
  };
  const failures: {code: string; ms: number; at: number}[] = [];
  const grants: {askedAt: number; at: number}[] = [];
  const inSection = new Map<number, number>();
  let overlaps = 0;
  let releasedTrue = 0;
  let releasedFalse = 0;
  let wipedReleaseTrue = 0;
  let stop = false;

  const call = async <T>(fn: () => Promise<T>): Promise<T | LockError> => {
    const started = Date.now();
    try {
      return await fn();
    } catch (error) {
      failures.push({
        code:
          error instanceof LockError
            ? error.code
            : `not a LockError: ${String(error)}`,
        ms: Date.now() - started,
        at: started,
      });
      return error instanceof LockError
        ? error
        : new LockError('BACKEND_FAILURE', String(error));
    }
  };

  const worker = async (index: number) => {
    while (!stop) {
      const identifier = index % IDENTIFIERS;
      const askedAt = Date.now();
      const held = await call(() =>
        Lock.acquire(`outage:${process.pid}:${identifier}`, {
          waitForMs: 1500,
          stealAfterMs: 60_000,
        }),
      );
      if (held instanceof LockError || held === null) {
        await delay(100);
        continue;
      }
      const grantedAt = Date.now();
      grants.push({askedAt, at: grantedAt});
      if (inSection.has(identifier)) overlaps++;
      inSection.set(identifier, index);
      await delay(20);
      inSection.delete(identifier);
      // A release that cannot reach the store is tried again until the store answers, as an owner should.
      for (;;) {
        const released = await call(() => held.release());
        if (released instanceof LockError) {
          await delay(200);
          continue;
        }
        const wiped =
          grantedAt < phases.restartedAt && Date.now() > phases.restartedAt;
        if (released) releasedTrue++;
        else releasedFalse++;
        if (wiped && released) wipedReleaseTrue++;
        break;
      }
    }
  };

  const started = Date.now();
  const workers = Array.from({length: WORKERS}, (_, i) => worker(i));
  try {
    await delay(BEFORE_KILL_MS);
    phases.killedAt = Date.now();
    await store.stop();
    phases.goneAt = Date.now();
    await delay(DOWN_MS);
    phases.restartBeganAt = Date.now();
    store = await startEmulator(emulator, {port});
    phases.restartedAt = Date.now();
    await delay(AFTER_RESTART_MS);
  } finally {
    stop = true;
    await Promise.race([Promise.all(workers), delay(FAILURE_BOUND_MS * 3)]);
    configureLocking();
    await datastore.close?.();
    await store.stop();
  }

  const before = grants.filter(grant => grant.at < phases.killedAt).length;
  const whileDown = grants.filter(
    grant => grant.askedAt >= phases.goneAt && grant.at < phases.restartBeganAt,
  ).length;
  const after = grants
    .filter(grant => grant.at >= phases.restartedAt)
    .map(grant => grant.at);
  const firstAfterMs =
    after.length > 0 ? Math.min(...after) - phases.restartedAt : NaN;
  const codes = new Map<string, number>();
  for (const failure of failures)
    codes.set(failure.code, (codes.get(failure.code) ?? 0) + 1);
  const slowest = failures.reduce(
    (max, failure) => Math.max(max, failure.ms),
    0,
  );
  const untyped = failures.filter(
    failure => failure.code !== 'BACKEND_UNAVAILABLE',
  ).length;
  const problems = [
    ...(failures.length === 0
      ? ['no call failed: the outage was not observed']
      : []),
    ...(untyped > 0
      ? [`${untyped} failures were not BACKEND_UNAVAILABLE`]
      : []),
    ...(slowest > FAILURE_BOUND_MS
      ? [`a failed call took ${slowest} ms (bound ${FAILURE_BOUND_MS} ms)`]
      : []),
    ...(whileDown > 0 ? [`${whileDown} grants while the store was down`] : []),
    ...(overlaps > 0 ? [`${overlaps} overlapping critical sections`] : []),
    ...(wipedReleaseTrue > 0
      ? [`${wipedReleaseTrue} releases claimed a lock the restart had wiped`]
      : []),
    ...(after.length === 0 ? ['no work resumed after the restart'] : []),
  ];
  return {
    size: `${WORKERS} workers on ${IDENTIFIERS} identifiers, ${((Date.now() - started) / 1000).toFixed(0)} s; store down ${phases.restartedAt - phases.killedAt} ms (stop + ${DOWN_MS} ms + restart)`,
    lost:
      problems.length === 0
        ? 'nothing: 0 grants while down, 0 overlaps, 0 false "released"'
        : problems.join('; '),
    passed: problems.length === 0,
    details: [
      `grants: ${before} before the kill, ${whileDown} asked for and granted while the store was gone, ${after.length} after the restart (first ${firstAfterMs} ms after the store was back)`,
      `failed calls: ${failures.length} (${[...codes].map(([code, n]) => `${code} x${n}`).join(', ')}); slowest failure ${slowest} ms (rpcTimeoutMs ${RPC_TIMEOUT_MS}, ${RETRY.maxAttempts} attempts; bound ${FAILURE_BOUND_MS} ms)`,
      `releases: ${releasedTrue} true, ${releasedFalse} false (a holder whose lock the in-memory emulator lost on restart hears false)`,
    ],
  };
}
