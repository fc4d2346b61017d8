/**
 * One "instance" of the contended benchmark: a process with WAITERS concurrent waiters on one
 * identifier, each taking the lock ITERATIONS times for a CRITICAL_MS critical section. Prints
 * one JSON line per grant: {grantedAt, releasedAt, releaseAnsweredAt} (ms since the epoch, sub-ms
 * precision), then one line with the failures and, for this project's locks, what the store calls
 * cost (counted at the client: see rpc-cost.ts and firestore-cost.ts; listener reads included),
 * or for WEAK locks (CONTENDER weak-memcached or weak-valkey, at STORE_HOST) the requests sent.
 * With BARRIER set it prints {ready} once connected and starts only on SIGUSR1, so that every
 * process contends from the first grant (a process that starts early would otherwise run alone).
 */
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import {
  floor,
  ourStrong,
  ourStrongFirestore,
  peer,
  weakOn,
  type Contender,
} from './contenders';
import {countFirestoreCosts} from './firestore-cost';
import {countCosts} from './rpc-cost';
import {nowMs} from './stats';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {createLocking} from '../../shared';
import {
  countingMemcache,
  countingValkey,
  countRequests,
  memcacheClient,
  valkeyRedis,
} from './weak-clients';

const contenderName = process.env.CONTENDER as string;
const identifier = process.env.IDENTIFIER as string;
const waiters = Number(process.env.WAITERS);
const iterations = Number(process.env.ITERATIONS);
const criticalMs = Number(process.env.CRITICAL_MS);

/** The contender, and a counter of its store calls where this project's lock is measured. */
async function contender(): Promise<{
  lock: Contender;
  cost: () => object | undefined;
  /** The WEAK store's requests since it connected. */
  requests?: () => string[];
}> {
  if (contenderName === 'ours') {
    const datastore = new Datastore();
    // The generated client exists only after a first call, and only then can its calls be counted.
    await datastore.get(datastore.key(['BenchWarm', 'warm']));
    const counter = countCosts(datastore);
    return {lock: ourStrong(datastore), cost: () => counter.cost};
  }
  if (contenderName === 'ours-firestore') {
    const firestore = new Firestore({
      projectId: process.env.GOOGLE_CLOUD_PROJECT as string,
      host: process.env.FIRESTORE_NATIVE_HOST as string,
      ssl: false,
      customHeaders: {Authorization: 'Bearer owner'},
    });
    await firestore.collection('BenchWarm').doc('warm').get();
    const counter = countFirestoreCosts(firestore);
    return {lock: ourStrongFirestore(firestore), cost: () => counter.cost};
  }
  if (contenderName === 'weak-memcached') {
    const memcache = memcacheClient(process.env.STORE_HOST as string);
    const log = countingMemcache(memcache);
    const lock = weakOn(createLocking({memcache}), 'WEAK, memcached');
    // Connected before the barrier, as a warm instance is; not counted.
    await memcache.get('bench-warm');
    log.take();
    return {lock, cost: () => undefined, requests: () => log.take()};
  }
  if (contenderName === 'weak-valkey') {
    const redis = valkeyRedis(process.env.STORE_HOST as string);
    const {client, log} = countingValkey(redis);
    const lock = weakOn(
      createLocking({weak: createValkeyBackend(client)}),
      'WEAK, Valkey',
    );
    // Connected, scripts loaded and the eviction policy read before the barrier; not counted.
    await (
      await lock.acquire(`bench-warm-${process.pid}`)
    )();
    await new Promise(resolve => setTimeout(resolve, 50));
    log.take();
    return {lock, cost: () => undefined, requests: () => log.take()};
  }
  if (contenderName === 'peer') return {lock: peer(), cost: () => undefined};
  if (contenderName === 'floor')
    return {lock: floor(new Datastore()), cost: () => undefined};
  throw new Error(`unknown contender ${contenderName}`);
}

async function main(): Promise<void> {
  const {lock, cost, requests} = await contender();
  if (process.env.BARRIER) {
    const go = new Promise(resolve => process.once('SIGUSR1', resolve));
    process.stdout.write(`${JSON.stringify({ready: true})}\n`);
    await go;
  }
  await Promise.all(
    Array.from({length: waiters}, async () => {
      for (let i = 0; i < iterations; i++) {
        const release = await lock.acquire(identifier);
        const grantedAt = nowMs();
        await new Promise(resolve => setTimeout(resolve, criticalMs));
        const releasedAt = nowMs();
        await release();
        const releaseAnsweredAt = nowMs();
        process.stdout.write(
          `${JSON.stringify({grantedAt, releasedAt, releaseAnsweredAt, pid: process.pid})}\n`,
        );
      }
    }),
  );
  const cpu = process.cpuUsage();
  const sent = requests?.();
  process.stdout.write(
    `${JSON.stringify({failures: lock.failures, cost: cost(), cpuMs: (cpu.user + cpu.system) / 1000, ...(sent ? {requests: sent.length, requestCounts: countRequests(sent)} : {})})}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
