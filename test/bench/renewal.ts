import {randomUUID} from 'node:crypto';
import type {Datastore} from '@google-cloud/datastore';
import type {Client as MemjsClient} from 'memjs';
import type {Redis} from 'iovalkey';
import {configureLocking, createLocking, Lock, LockKind} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {intervalOf} from '../../shared/core/lease-keeper';
import {
  DEFAULT_ENTITY_KIND,
  encodeLock,
  lockKey,
  type LockFields,
} from '../../shared/stores/datastore/lock-entity';
import {MemcacheOps} from '../../shared/stores/memcached/memcache-ops';
import {encodeLockValue} from '../../shared/stores/memcached/lock-value';
import type {ValkeyClient} from '../../shared/stores/valkey';
import {countCosts, type Cost} from './rpc-cost';
import {
  countingMemcache,
  countingValkey,
  describeCounts,
  countRequests,
  type RequestLog,
} from './weak-clients';
import {median, percentile, round, timed} from './stats';

/**
 * What keeping a lease alive costs: one renewal (Lock#renew) on each store, timed and counted,
 * beside the floor of that store, the least a renewal can be: one raw conditional write of the
 * same entity or value, sent through the same client. Then the cost of one lock kept for an hour.
 */

/** The lease the hourly cost assumes; the keeper renews at a third of it (shared/core/lease-keeper.ts). */
export const HOURLY_LEASE_MS = 60_000;
/** Long enough that no lease in the timed loop runs out between renewals. */
const BENCH_LEASE_MS = 600_000;
/** The goal, where the store honours version preconditions: a renewal within 1.3× its floor. */
const GOAL_VS_FLOOR = 1.3;
const SAMPLES = 300;

interface Renewer {
  readonly name: string;
  readonly store: string;
  /** One renewal (or one floor write); throws if it did not succeed. */
  step(): Promise<void>;
  /** Counts what one step costs at the client. */
  count(): Promise<Counted>;
}

/** A step's cost, and for the WEAK stores the requests it sent, named (`1 get, 1 CAS set`). */
type Counted = Cost & {readonly requests?: string};

export interface RenewalSection {
  readonly lines: string[];
  readonly result: Record<string, unknown>;
}

export async function renewal(
  project: string,
  onLegacy: Datastore,
  onFirestore: Datastore,
  memcache: MemjsClient,
  redis: Redis,
): Promise<RenewalSection> {
  // Each Lock keeps the configuration it was acquired under, so the three can be renewed in turn.
  configureLocking({datastore: onLegacy});
  const legacy = await lockRenewer(
    'this project: Lock#renew(), STRONG',
    'legacy',
    LockKind.STRONG,
    onLegacy,
  );
  configureLocking({datastore: onFirestore, memcache});
  const firestore = await lockRenewer(
    'this project: Lock#renew(), STRONG',
    'firestore',
    LockKind.STRONG,
    onFirestore,
  );
  const weak = await lockRenewer(
    'this project: Lock#renew(), WEAK',
    'memcached',
    LockKind.WEAK,
    undefined,
    memcache,
  );
  configureLocking();
  const valkey = countingValkey(redis);
  const onValkey = await lockRenewer(
    'this project: Lock#renew(), WEAK',
    'valkey',
    LockKind.WEAK,
    undefined,
    undefined,
    createLocking({weak: createValkeyBackend(valkey.client)}),
    valkey.log,
  );
  const pairs: [Renewer, Renewer][] = [
    [legacy, await datastoreFloor('legacy', onLegacy, project)],
    [firestore, await datastoreFloor('firestore', onFirestore, project)],
    [weak, await memcachedFloor(memcache)],
    [onValkey, await valkeyFloor(valkey.client, valkey.log)],
  ];
  const all = pairs.flat();

  for (const renewer of all) for (let i = 0; i < 20; i++) await renewer.step();
  const samples = new Map<Renewer, number[]>(all.map(renewer => [renewer, []]));
  // One step of each in turn, so a busy machine's drift touches a renewal and its floor alike, in
  // a new random order each time: the first call on a channel after a pause is slower, and a fixed
  // order would always charge that to the same row.
  for (let i = 0; i < SAMPLES; i++) {
    for (const renewer of shuffled(all))
      samples.get(renewer)?.push(await timed(() => renewer.step()));
  }
  const costs = new Map<Renewer, Counted>();
  for (const renewer of all) costs.set(renewer, await renewer.count());

  const renewalsPerHour = Math.round(3_600_000 / intervalOf(HOURLY_LEASE_MS));
  const stores: Record<string, unknown> = {};
  const latencyRows: string[] = [];
  const hourRows: string[] = [];
  for (const [ours, floor] of pairs) {
    const ourSample = samples.get(ours) as number[];
    const floorSample = samples.get(floor) as number[];
    const cost = costs.get(ours) as Counted;
    const floorCost = costs.get(floor) as Counted;
    const vsFloor = round(median(ourSample) / median(floorSample));
    const billed = cost.reads + cost.writes + cost.deletes;
    stores[ours.store] = {
      renewal: {
        name: ours.name,
        medianMs: round(median(ourSample)),
        p95Ms: round(percentile(ourSample, 95)),
        ...cost,
      },
      floor: {
        name: floor.name,
        medianMs: round(median(floorSample)),
        p95Ms: round(percentile(floorSample, 95)),
        ...floorCost,
      },
      vsFloor,
      perHour: {
        renewals: renewalsPerHour,
        calls: renewalsPerHour * cost.rpcs,
        billedEntityOperations: renewalsPerHour * billed,
      },
    };
    const storeName = STORE_NAMES[ours.store];
    const weakStore = ours.store === 'memcached' || ours.store === 'valkey';
    const ops = (c: Counted) =>
      c.requests ? `${c.rpcs} (${c.requests})` : `${c.rpcs}`;
    const billedOf = (c: Cost) =>
      weakStore
        ? 'none (not billed per operation)'
        : `${c.reads + c.writes + c.deletes} (${c.reads} read, ${c.writes} write)`;
    latencyRows.push(
      `| ${storeName} | ${ours.name} | ${round(median(ourSample))} | ${round(percentile(ourSample, 95))} | ${vsFloor} | ${ops(cost)} | ${billedOf(cost)} |`,
      `| ${storeName} | ${floor.name} | ${round(median(floorSample))} | ${round(percentile(floorSample, 95))} | 1 | ${ops(floorCost)} | ${billedOf(floorCost)} |`,
    );
    hourRows.push(
      `| ${storeName} | ${renewalsPerHour} | ${ops(cost)} | ${renewalsPerHour * cost.rpcs} | ${weakStore ? 'none' : `${renewalsPerHour * billed} (${renewalsPerHour * cost.reads} reads, ${renewalsPerHour * cost.writes} writes)`} |`,
    );
  }
  const legacyVsFloor = (stores.legacy as {vsFloor: number}).vsFloor;
  const lines = [
    '## Lease renewal: one renewal beside the raw conditional write it is built on',
    '',
    `Sequential: ${SAMPLES} renewals of one held lease per row (after 20 to warm up), one of each row in turn, in a random order each time. The floor is not a lock: one raw conditional write of the same entity (a commit of an update with \`baseVersion\`, through the same generated Datastore client) or of the same value (a memcached \`set\` with the CAS of the previous write; on Valkey a \`SET ... XX PX\`), the least a renewal can send. Calls and entity operations are counted at the client for one renewal.`,
    '',
    '| store | what | median ms | p95 ms | × its floor | calls | billed entity operations |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...latencyRows,
    '',
    `Where the store honours version preconditions (the legacy emulator; Google's service documents them) a renewal is that one conditional update: ${legacyVsFloor}× its floor on the legacy emulator (goal: at most ${GOAL_VS_FLOOR}×, ${legacyVsFloor <= GOAL_VS_FLOOR ? 'met' : '**not met**'}). The Firestore-in-Datastore-mode emulator ignores the precondition, so there a renewal checks ownership in a transaction (begin, lookup, commit); the floor row beside it is the single write it cannot safely use. On memcached a renewal reads the lock and swaps it with the CAS it read (a CAS kept from the previous write proves nothing after a memcached restart), so it is two operations where the floor is one. On Valkey a renewal is one script (EVALSHA) that checks the owner and sets the new lease on the server's clock; its floor is one raw \`SET ... XX PX\` of a lock-sized value, which checks no owner.`,
    '',
    '## Keeping one lock alive for an hour',
    '',
    `At \`leaseMs\` ${HOURLY_LEASE_MS / 1000} s, with the default renewal every third of the lease (${intervalOf(HOURLY_LEASE_MS) / 1000} s): ${renewalsPerHour} renewals per hour. Calls and billed operations per hour are the counts above × ${renewalsPerHour}; they scale with 1/\`leaseMs\` (a 15 s lease costs 4× as much). Acquire and release come on top (see the cycle cost above).`,
    '',
    '| store | renewals per hour | calls per renewal | calls per hour | billed entity operations per hour |',
    '| --- | --- | --- | --- | --- |',
    ...hourRows,
    '',
  ];
  for (const renewer of [legacy, firestore, weak, onValkey])
    await (renewer as LockRenewer).held.release();
  return {
    lines,
    result: {
      leaseMsAssumedPerHour: HOURLY_LEASE_MS,
      renewalIntervalMs: intervalOf(HOURLY_LEASE_MS),
      renewalsPerHour,
      goalVsFloor: GOAL_VS_FLOOR,
      stores,
    },
  };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const STORE_NAMES: Record<string, string> = {
  legacy: 'legacy Datastore emulator',
  firestore: 'Firestore in Datastore mode emulator',
  memcached: 'memcached',
  valkey: 'Valkey (Redis 7 here)',
};

type LockRenewer = Renewer & {readonly held: Lock};

async function lockRenewer(
  name: string,
  store: string,
  kind: LockKind,
  datastore?: Datastore,
  memcache?: MemjsClient,
  locking?: ReturnType<typeof createLocking>,
  log?: RequestLog,
): Promise<LockRenewer> {
  const held = await (locking?.acquire ?? Lock.acquire)(
    `bench-renew-${store}-${randomUUID()}`,
    {
      kind,
      leaseMs: BENCH_LEASE_MS,
      wait: false,
    },
  );
  if (!held) throw new Error(`could not acquire a lock to renew on ${store}`);
  const step = async () => {
    if (!(await held.renew()))
      throw new Error(`a renewal on ${store} found the lock gone`);
  };
  return {
    name,
    store,
    held,
    step,
    count: async () => {
      await step();
      return countStep(step, datastore, memcache, log);
    },
  };
}

/** One raw conditional update of a lock-shaped entity: the single commit a renewal is at best. */
async function datastoreFloor(
  store: string,
  datastore: Datastore,
  projectId: string,
): Promise<Renewer> {
  const client = datastore.clients_.get('DatastoreClient') as unknown as {
    commit(request: Record<string, unknown>): Promise<
      [
        {
          mutationResults?: {
            version?: unknown;
            conflictDetected?: boolean | null;
          }[];
        },
      ]
    >;
  };
  if (!client) throw new Error('no DatastoreClient yet: acquire a lock first');
  // A lock's own kind and key shape: the floor differs from a renewal only in what the library does.
  const key = lockKey(
    {projectId, namespaceId: ''},
    DEFAULT_ENTITY_KIND,
    `bench-renew-floor-${randomUUID()}`,
  );
  const acquiredAt = new Date();
  const fields = (renewedAt: Date): LockFields => ({
    identifier: `bench-renew-${store}-${randomUUID()}`,
    token: randomUUID(),
    acquiredAt,
    renewedAt,
    leaseMs: BENCH_LEASE_MS,
    expiresAt: new Date(renewedAt.getTime() + BENCH_LEASE_MS),
    fence: 1n,
  });
  const commit = async (mutation: Record<string, unknown>) => {
    const [response] = await client.commit({
      projectId,
      mode: 'NON_TRANSACTIONAL',
      mutations: [mutation],
    });
    const result = response.mutationResults?.[0];
    if (!result || result.conflictDetected)
      throw new Error(`the floor's conditional write on ${store} conflicted`);
    return String(result.version);
  };
  let version = await commit({insert: encodeLock(key, fields(acquiredAt))});
  const step = async () => {
    version = await commit({
      update: encodeLock(key, fields(new Date())),
      baseVersion: version,
    });
  };
  return {
    name: 'floor: one raw conditional update (commit with baseVersion)',
    store,
    step,
    count: () => countStep(step, datastore),
  };
}

/** One raw compare-and-swap `set` with the CAS the previous write returned. */
async function memcachedFloor(memcache: MemjsClient): Promise<Renewer> {
  const ops = new MemcacheOps(memcache, 1000);
  const key = `bench-renew-floor:${randomUUID()}`;
  const acquiredAt = new Date();
  const value = () =>
    encodeLockValue({
      identifier: 'bench-floor',
      token: randomUUID(),
      acquiredAt,
      renewedAt: new Date(),
      leaseMs: BENCH_LEASE_MS,
      expiresAt: new Date(Date.now() + BENCH_LEASE_MS),
    });
  let cas = await ops.add(key, value(), 600);
  if (!cas) throw new Error('the floor key already existed');
  const step = async () => {
    const swapped = await ops.casSet(key, value(), 600, cas as Buffer);
    if (!Buffer.isBuffer(swapped))
      throw new Error(`the floor's CAS set found the key ${swapped}`);
    cas = swapped;
  };
  return {
    name: 'floor: one raw CAS set (the CAS of the previous write)',
    store: 'memcached',
    step,
    count: () => countStep(step, undefined, memcache),
  };
}

/** One raw `SET key value XX PX lease` of a lock-sized value: one round trip, no owner check. */
async function valkeyFloor(
  client: ValkeyClient,
  log: RequestLog,
): Promise<Renewer> {
  const key = `bench-renew-floor:{lk:${randomUUID()}}`;
  const value = () =>
    encodeLockValue({
      identifier: 'bench-floor',
      token: randomUUID(),
      acquiredAt: new Date(),
      renewedAt: new Date(),
      leaseMs: BENCH_LEASE_MS,
      expiresAt: new Date(Date.now() + BENCH_LEASE_MS),
    });
  await client.call(
    'SET',
    key,
    value().toString('latin1'),
    'PX',
    BENCH_LEASE_MS,
  );
  const step = async () => {
    if (
      (await client.call(
        'SET',
        key,
        value().toString('latin1'),
        'XX',
        'PX',
        BENCH_LEASE_MS,
      )) !== 'OK'
    )
      throw new Error("the floor's SET XX found no key");
  };
  return {
    name: 'floor: one raw SET XX PX (no owner check)',
    store: 'valkey',
    step,
    count: () => countStep(step, undefined, undefined, log),
  };
}

/**
 * Runs `step` once and counts its calls: Datastore RPCs and entity operations through the
 * generated client, or the WEAK store's requests (memjs's, or the Valkey commands `log` saw).
 */
async function countStep(
  step: () => Promise<void>,
  datastore?: Datastore,
  memcache?: MemjsClient,
  log?: RequestLog,
): Promise<Counted> {
  if (datastore) {
    const counter = countCosts(datastore);
    try {
      await step();
    } finally {
      counter.restore();
    }
    return {...counter.cost};
  }
  const requests = log ?? countingMemcache(memcache as MemjsClient);
  requests.take();
  try {
    await step();
  } finally {
    if (!log) (requests as ReturnType<typeof countingMemcache>).restore();
  }
  const sent = requests.take();
  const named = countRequests(sent);
  return {
    rpcs: sent.length,
    // memcached's reads and writes, for the table's billed column (none: not billed per operation).
    reads: named.get ?? 0,
    writes: sent.length - (named.get ?? 0),
    deletes: 0,
    refusedWrites: 0,
    requests: describeCounts(named),
  };
}
