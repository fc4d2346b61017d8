import {randomUUID} from 'node:crypto';
import {createLocking, LockKind, type Lock, type Locking} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {utilisationCeiling} from './contention-stats';
import {handoff, HOLD_MS, type HandoffResult} from './handoff';
import {publishFloor} from './publish-floor';
import {median, percentile, round, timed} from './stats';
import {weakContended, type WeakContendedRun} from './weak-contended';
import {
  countingMemcache,
  countingValkey,
  countRequests,
  describeCounts,
  memcacheClient,
  valkeyRedis,
  type RequestLog,
} from './weak-clients';

/**
 * WEAK locks on Valkey beside memcached (issue 23), in one run on one machine: the uncontended
 * cycle, one renewal, the hand-off to another process, and the lock's utilisation under contention
 * by single-request processes; each store's requests per operation counted at its client.
 */

export const WEAK_SECTION_HEADING =
  '## WEAK locks: Valkey beside memcached (issue 23)';

const CYCLE_ROUNDS = 5;
const CYCLES_PER_ROUND = 40;
const RENEWALS = 200;
const HANDOFFS = 40;
const CONTENDED_PROCESSES = [4, 8] as const;
const CONTENDED_ITERATIONS = 20;
const WORK_MS = 5;
/** The issue's goal for Valkey's hand-off, from the release call to the grant in another process. */
const GOAL_HANDOFF = {medianMs: 3, p95Ms: 10};

type Store = 'memcached' | 'valkey';
const STORES: readonly Store[] = ['memcached', 'valkey'];
const STORE_NAMES: Record<Store, string> = {
  memcached: 'memcached',
  valkey: 'Valkey',
};

interface Target {
  readonly store: Store;
  readonly host: string;
  readonly locking: Locking;
  readonly log: RequestLog;
  close(): void;
}

interface Timing {
  readonly medianMs: number;
  readonly p95Ms: number;
}

interface StoreResult {
  cycle: Timing & {
    acquire: Record<string, number>;
    release: Record<string, number>;
  };
  renewal: Timing & {requests: Record<string, number>};
  handoff: HandoffResult;
  contended: WeakContendedRun[];
}

export async function weakStores(hosts: {
  readonly memcached: string;
  readonly valkey: string;
}): Promise<{lines: string[]; result: Record<string, unknown>}> {
  const targets = [
    memcachedTarget(hosts.memcached),
    valkeyTarget(hosts.valkey),
  ];
  const results = {} as Record<Store, StoreResult>;
  try {
    const cycles = await cycleTimings(targets);
    const renewals = await renewalTimings(targets);
    for (const target of targets) {
      results[target.store] = {
        cycle: {
          ...(cycles.get(target) as Timing),
          ...(await countCycle(target)),
        },
        renewal: renewals.get(target) as StoreResult['renewal'],
        handoff: undefined as unknown as HandoffResult,
        contended: [],
      };
    }
  } finally {
    for (const target of targets) target.close();
  }
  for (const store of STORES)
    results[store].handoff = await handoff(store, hosts[store], HANDOFFS);
  const floor = await publishFloor(hosts.valkey, HANDOFFS, HOLD_MS);
  for (const processes of CONTENDED_PROCESSES)
    for (const store of STORES)
      results[store].contended.push(
        await weakContended({
          store,
          host: hosts[store],
          processes,
          iterations: CONTENDED_ITERATIONS,
          workMs: WORK_MS,
          identifier: `bench-weak-contended-${store}-${processes}-${randomUUID()}`,
        }),
      );
  return {
    lines: report(results, floor),
    result: {...summarise(results), publishFloor: floor},
  };
}

function memcachedTarget(host: string): Target {
  const memcache = memcacheClient(host);
  const log = countingMemcache(memcache);
  return {
    store: 'memcached',
    host,
    locking: createLocking({memcache}),
    log,
    close: () => {
      log.restore();
      memcache.close();
    },
  };
}

function valkeyTarget(host: string): Target {
  const redis = valkeyRedis(host);
  const {client, log} = countingValkey(redis);
  return {
    store: 'valkey',
    host,
    locking: createLocking({weak: createValkeyBackend(client)}),
    log,
    close: () => redis.disconnect(),
  };
}

async function cycle(target: Target): Promise<void> {
  const held = await target.locking.acquire(
    `bench-weak-cycle-${randomUUID()}`,
    {kind: LockKind.WEAK},
  );
  if (!held) throw new Error(`no grant on ${target.store}, uncontended`);
  await held.release();
}

/** Sequential cycles, the stores interleaved round by round so that drift touches both alike. */
async function cycleTimings(
  targets: readonly Target[],
): Promise<Map<Target, Timing>> {
  const samples = new Map<Target, number[]>(targets.map(t => [t, []]));
  for (const target of targets)
    for (let i = 0; i < 20; i++) await cycle(target);
  for (let r = 0; r < CYCLE_ROUNDS; r++)
    for (const target of targets)
      for (let i = 0; i < CYCLES_PER_ROUND; i++)
        samples.get(target)?.push(await timed(() => cycle(target)));
  return timings(samples);
}

/** One warm cycle's requests, acquire and release apart. */
async function countCycle(
  target: Target,
): Promise<{acquire: Record<string, number>; release: Record<string, number>}> {
  await cycle(target);
  target.log.take();
  const held = await target.locking.acquire(
    `bench-weak-count-${randomUUID()}`,
    {kind: LockKind.WEAK},
  );
  const acquire = countRequests(target.log.take());
  await held?.release();
  return {acquire, release: countRequests(target.log.take())};
}

/** One renewal of one held lease on each store, in a random order each time. */
async function renewalTimings(
  targets: readonly Target[],
): Promise<Map<Target, StoreResult['renewal']>> {
  const held = new Map<Target, Lock>();
  for (const target of targets) {
    const lock = await target.locking.acquire(
      `bench-weak-renew-${randomUUID()}`,
      {kind: LockKind.WEAK, leaseMs: 600_000, wait: false},
    );
    if (!lock) throw new Error(`no lease to renew on ${target.store}`);
    held.set(target, lock);
  }
  const renew = async (target: Target) => {
    if (!(await held.get(target)?.renew()))
      throw new Error(`a renewal on ${target.store} found the lock gone`);
  };
  for (const target of targets)
    for (let i = 0; i < 20; i++) await renew(target);
  const samples = new Map<Target, number[]>(targets.map(t => [t, []]));
  for (let i = 0; i < RENEWALS; i++) {
    const order = Math.random() < 0.5 ? targets : [...targets].reverse();
    for (const target of order)
      samples.get(target)?.push(await timed(() => renew(target)));
  }
  const result = new Map<Target, StoreResult['renewal']>();
  for (const [target, timing] of timings(samples)) {
    target.log.take();
    await renew(target);
    result.set(target, {...timing, requests: countRequests(target.log.take())});
    await held.get(target)?.release();
  }
  return result;
}

function timings(samples: Map<Target, number[]>): Map<Target, Timing> {
  return new Map(
    [...samples].map(([target, sample]) => [
      target,
      {medianMs: round(median(sample)), p95Ms: round(percentile(sample, 95))},
    ]),
  );
}

const total = (counts: Record<string, number>) =>
  Object.values(counts).reduce((sum, n) => sum + n, 0);

function report(
  results: Record<Store, StoreResult>,
  floor: Timing & {maxMs: number},
): string[] {
  const cell = (fn: (result: StoreResult) => string) =>
    STORES.map(store => fn(results[store])).join(' | ');
  const trips = (counts: Record<string, number>) =>
    `${total(counts)} (${describeCounts(counts)})`;
  const contendedRows = CONTENDED_PROCESSES.flatMap((processes, index) => {
    const run = (result: StoreResult) =>
      result.contended[index] as WeakContendedRun;
    return [
      `| contended, ${processes} processes: utilisation (its ceiling) | ${cell(r => `${round(run(r).utilisation * 100, 1)} % (${round(ceiling(r, run(r)) * 100, 1)} %)`)} |`,
      `| contended, ${processes} processes: hand-off median / p95 ms | ${cell(r => `${round(run(r).handoffMedianMs)} / ${round(run(r).handoffP95Ms)}`)} |`,
      `| contended, ${processes} processes: work inside the lock, median ms | ${cell(r => `${round(run(r).workMedianMs)}`)} |`,
      `| contended, ${processes} processes: requests per grant, all processes | ${cell(r => `${round(run(r).requestsPerGrant, 1)} (${describeCounts(run(r).requestCounts, run(r).grants)})`)} |`,
    ];
  });
  const valkey = results.valkey.handoff;
  const met =
    valkey.medianMs <= GOAL_HANDOFF.medianMs &&
    valkey.p95Ms <= GOAL_HANDOFF.p95Ms;
  const at = (store: Store, processes: number) =>
    results[store].contended[
      CONTENDED_PROCESSES.indexOf(processes as 4 | 8)
    ] as WeakContendedRun;
  return [
    WEAK_SECTION_HEADING,
    '',
    `The same library on each store through its own instance (\`createLocking({memcache})\`, \`createLocking({weak: createValkeyBackend(client)})\`), on loopback, one server each. Requests are counted at the client (memjs requests; Valkey commands, a subscriber's SUBSCRIBE and UNSUBSCRIBE included): each is one round trip. Cycle: ${CYCLE_ROUNDS * CYCLES_PER_ROUND} sequential acquire + release cycles per store (after 20 to warm up), the stores interleaved in ${CYCLE_ROUNDS} rounds. Renewal: ${RENEWALS} renewals of one held lease per store, in turn. Hand-off: ${HANDOFFS} hand-offs from the holder's release call to the grant in a second process that has waited 300 ms (test/bench/handoff.ts; default backoff, on Valkey subscribed to the lock's channel). Contended: N single-request processes (one waiter each, as instances at concurrency 1), released together once all are connected, each taking one lock ${CONTENDED_ITERATIONS} times and doing ${WORK_MS} ms of work inside it; utilisation is the work time over the wall time from the first grant to the last release; its ceiling is the work over the work plus one uncontended cycle on that store (the least a hand-off can cost).`,
    '',
    `| measure | ${STORES.map(store => STORE_NAMES[store]).join(' | ')} |`,
    `| --- | ${STORES.map(() => '---').join(' | ')} |`,
    `| uncontended cycle, median / p95 ms | ${cell(r => `${r.cycle.medianMs} / ${r.cycle.p95Ms}`)} |`,
    `| round trips per acquire (uncontended) | ${cell(r => trips(r.cycle.acquire))} |`,
    `| round trips per release | ${cell(r => trips(r.cycle.release))} |`,
    `| renewal, median / p95 ms | ${cell(r => `${r.renewal.medianMs} / ${r.renewal.p95Ms}`)} |`,
    `| round trips per renewal | ${cell(r => trips(r.renewal.requests))} |`,
    `| hand-off to another process, median / p95 / max ms | ${cell(r => `${r.handoff.medianMs} / ${r.handoff.p95Ms} / ${r.handoff.maxMs}`)} |`,
    `| its floor: one raw PUBLISH to a subscriber in another process idle ${HOLD_MS} ms, median / p95 / max ms | none (no push) | ${floor.medianMs} / ${floor.p95Ms} / ${floor.maxMs} |`,
    ...contendedRows,
    '',
    `- Goal for Valkey's hand-off (median ≤ ${GOAL_HANDOFF.medianMs} ms, p95 ≤ ${GOAL_HANDOFF.p95Ms} ms): median ${valkey.medianMs} ms, p95 ${valkey.p95Ms} ms, ${met ? 'met' : '**not met**'}; memcached in the same run: median ${results.memcached.handoff.medianMs} ms, p95 ${results.memcached.handoff.p95Ms} ms. Its floor, a raw PUBLISH reaching a subscriber in another process (the same wake-up of an idle process, without the lock), took a median ${floor.medianMs} ms and a p95 ${floor.p95Ms} ms in this run: a push hand-off is the release script before that wake-up and one acquire after it.`,
    "- Round trips: every Valkey operation is one Lua script (EVALSHA) judged on the server's clock, so an uncontended acquire and a release are one round trip each and a renewal one; on memcached the release and the renewal first read the lock for its CAS (get, then a CAS delete or CAS set), since a CAS kept from an earlier write proves nothing after a restart.",
    "- Hand-off: on Valkey the release publishes on the lock's channel in the same script and the subscribed waiter tries at once, so a hand-off is a publish, a message and one acquire; on memcached the waiter learns of the release only at its next poll, on the default backoff (20 ms doubling to 250 ms, full jitter), so it waits a median of a fraction of its current pause.",
    `- Contended (${WORK_MS} ms of work): the lock was in use ${round(at('valkey', 4).utilisation * 100, 0)} % and ${round(at('valkey', 8).utilisation * 100, 0)} % of the time on Valkey (4 and 8 processes), ${round(at('memcached', 4).utilisation * 100, 0)} % and ${round(at('memcached', 8).utilisation * 100, 0)} % on memcached. On Valkey a release is pushed to every waiting process and all of them try at once; the requests per grant are those attempts, the STATE look each process takes after a message, and a SUBSCRIBE and an UNSUBSCRIBE per wait (a process opens its subscriber connection for its first waiter and closes it when the last one stops). On memcached a waiter tries at its next poll, and with several processes polling on independent jittered backoffs one of them polls soon after a release, so polling loses less here than in the two-process hand-off above; every poll that finds the lock held is an add and a get.`,
    '',
  ];
}

function ceiling(result: StoreResult, run: WeakContendedRun): number {
  return utilisationCeiling(run.workMedianMs, result.cycle.medianMs);
}

function summarise(
  results: Record<Store, StoreResult>,
): Record<string, unknown> {
  return Object.fromEntries(
    STORES.map(store => {
      const result = results[store];
      return [
        store,
        {
          ...result,
          contended: result.contended.map(run => ({
            processes: run.processes,
            iterations: run.iterations,
            askedWorkMs: run.askedWorkMs,
            grants: run.grants,
            utilisation: round(run.utilisation, 3),
            utilisationCeiling: round(ceiling(result, run), 3),
            spanMs: round(run.spanMs, 0),
            workMedianMs: round(run.workMedianMs),
            handoffMedianMs: round(run.handoffMedianMs),
            handoffP95Ms: round(run.handoffP95Ms),
            requestsPerGrant: round(run.requestsPerGrant, 2),
            requestCounts: run.requestCounts,
          })),
        },
      ];
    }),
  );
}
