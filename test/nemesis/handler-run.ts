import {performance} from 'node:perf_hooks';
import {PubSub} from '@google-cloud/pubsub';
import {Datastore} from '@google-cloud/datastore';
import {ACCOUNT_KIND} from '../../functions/example-worker';
import {createLocking} from '../../shared';
import '../../shared/stores/datastore';
import {startEmulator} from '../../infra/emulators';
import type {RunningService} from '../../infra/processes';
import {
  startWorkerInstance,
  type WorkerInstance,
} from '../support/worker-instance';
import {
  CHECK_THEN_WRITE_WORKER,
  EXAMPLE_WORKER,
} from '../support/worker-server';
import {CONTROL_APPLIED_KIND} from '../support/worker-check-then-write';
import {appliedEventIds} from '../support/worker-ledger';
import {checkBalances, type HandlerCheck} from './handler-check';
import {seededRandom} from './random';
import {NEMESIS_PROJECT} from './store';

export interface HandlerRunOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Functions Framework servers, each an instance with its own push subscriptions. At least 2. */
  readonly instances: number;
  readonly leaseMs: number;
  /** lockedHandler's deadlineMs: renewals stop this long after an invocation began. */
  readonly deadlineMs: number;
  /** true: the example worker (fenced, once-keyed writes); false: the check-then-write control. */
  readonly fenced: boolean;
  /**
   * The scheduled cleanup's period (Cloud Scheduler calling cleanupLocks), the waiting room's
   * backstop once no new event arrives on a key: default every minute, as the README advises.
   */
  readonly cleanupEveryMs?: number;
  readonly log?: (line: string) => void;
}

export interface HandlerFaultRecord {
  readonly kind: 'pause' | 'kill';
  readonly instance: number;
  readonly atMs: number;
  readonly durationMs: number;
  /** A pause: whether it caught the instance inside a handler, as aimed. */
  readonly midHandler?: boolean;
}

export interface HandlerRunResult {
  readonly options: Omit<HandlerRunOptions, 'log'>;
  readonly workMs: number;
  readonly accounts: number;
  readonly publishEveryMs: number;
  readonly check: HandlerCheck;
  readonly faults: HandlerFaultRecord[];
  /** Log lines of the instances, counted: what refused or repeated a write. */
  readonly seen: {
    readonly staleFence: number;
    readonly lockLost: number;
    readonly duplicates: number;
  };
  /** Scheduled cleanup runs, and the stranded parked messages they handed the lock to. */
  readonly cleanup: {readonly runs: number; readonly dispatched: number};
  /** From the end of the faults to every account settled (or to giving up). */
  readonly settleMs: number;
  readonly wallMs: number;
}

const WORK_MS = 300;
const ACCOUNTS = 3;
const PUBLISH_EVERY_MS = 300;
const LEAD_IN_MS = 3000;
const PAUSES_PER_MINUTE = 8;
const KILLS_PER_MINUTE = 2;
/** After the last fault: every account must reach its count by then, Pub/Sub retries included. */
const SETTLE_LIMIT_MS = 180_000;
const CLEANUP_EVERY_MS = 60_000;
/**
 * A balance unchanged this long, all faults healed, is final. Long: a message parked behind a
 * killed holder after the last event waits for the next scheduled cleanup.
 */
const SETTLED_QUIET_MS = 60_000;

/**
 * The handler workload: the example worker on several Functions Framework instances, fed by
 * Pub/Sub push, every event adding 1 to one of a few accounts. Faults: an instance paused (SIGSTOP)
 * inside its handler past its deadline and its lease, then resumed; an instance killed and
 * replaced. Then Pub/Sub redelivers until every event is acknowledged, and each balance must equal
 * its number of events. The control run serves the check-then-write variant instead.
 * Starts its own Datastore emulator (legacy: see store.ts), and a Pub/Sub emulator unless
 * PUBSUB_EMULATOR_HOST names one.
 */
export async function runHandlerNemesis(
  options: HandlerRunOptions,
): Promise<HandlerRunResult> {
  if (options.instances < 2) throw new Error('at least 2 instances');
  const say = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const started = performance.now();
  /** The run's clock: from when every instance is up, once they are. */
  let zero = started;
  const now = () => performance.now() - zero;
  const services: RunningService[] = [];
  const instances: WorkerInstance[] = [];
  const timers: NodeJS.Timeout[] = [];
  let pubsub: PubSub | undefined;
  /** The scheduled cleanup in progress, awaited before the store stops. */
  let cleaning: Promise<void> = Promise.resolve();
  let emulatorHostSet = false;
  // Instances die with the run, however it ends (Ctrl-C included).
  const lastResort = () => {
    for (const instance of instances) instance.signal('SIGKILL');
  };
  process.once('exit', lastResort);
  try {
    const store = await startEmulator('datastore-legacy');
    services.push(store);
    if (!process.env.PUBSUB_EMULATOR_HOST) {
      const emulator = await startEmulator('pubsub');
      services.push(emulator);
      process.env.PUBSUB_EMULATOR_HOST = emulator.host;
      // Stopped with this run: the next run must not find its address.
      emulatorHostSet = true;
    }
    pubsub = new PubSub({projectId: NEMESIS_PROJECT});
    const db = new Datastore({
      projectId: NEMESIS_PROJECT,
      apiEndpoint: store.host,
    });
    const variant = options.fenced ? EXAMPLE_WORKER : CHECK_THEN_WRITE_WORKER;
    const cleanupEveryMs = options.cleanupEveryMs ?? CLEANUP_EVERY_MS;
    const quietMs = Math.max(SETTLED_QUIET_MS, cleanupEveryMs + 30_000);
    say(
      `handler workload (${options.fenced ? 'fenced: the example worker' : 'control: check-then-write'}): ${options.instances} instances, lease ${options.leaseMs} ms, deadline ${options.deadlineMs} ms, store ${store.host}`,
    );

    const lastRanAt = new Map<number, number>();
    const paused = new Set<number>();
    const seen = {staleFence: 0, lockLost: 0, duplicates: 0};
    const onLine = (instance: number) => (line: string) => {
      // A handler starts on arrival ("ran") or woken from the waiting room ("woken").
      if (/"outcome":"(ran|woken)"/.test(line)) lastRanAt.set(instance, now());
      // The message of LockError STALE_FENCE, as the framework logs the failed invocation.
      if (line.includes('refused a write with fence')) seen.staleFence++;
      if (line.includes('"outcome":"lock_lost"')) seen.lockLost++;
      if (line.includes('not applied twice')) seen.duplicates++;
    };
    const run = `h${options.seed}-${options.fenced ? 'f' : 'c'}-${Date.now().toString(36)}`;
    for (let index = 0; index < options.instances; index++)
      instances.push(
        await startWorkerInstance(
          pubsub,
          `${run}-${index}`,
          {
            METADATA_SERVER_DETECTION: 'none',
            GOOGLE_CLOUD_PROJECT: NEMESIS_PROJECT,
            PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
            LOCKS_STRONG_STORE: 'datastore',
            DATASTORE_EMULATOR_HOST: store.host,
            EXAMPLE_WORKER_LEASE_MS: String(options.leaseMs),
            EXAMPLE_WORKER_DEADLINE_MS: String(options.deadlineMs),
            EXAMPLE_WORKER_WORK_MS: String(WORK_MS),
          },
          undefined,
          {variant, onLine: onLine(index)},
        ),
      );

    zero = performance.now();

    // Cloud Scheduler's stand-in: a killed holder's parked messages wait for the next arrival on
    // their key or for this, as deployed (docs/locked-handler.md, the backstops).
    const cleanup = {runs: 0, dispatched: 0};
    const scheduled = createLocking({datastore: db});
    timers.push(
      setInterval(() => {
        cleaning = cleaning.then(async () => {
          try {
            const {dispatched} = await scheduled.cleanupStaleLocks({
              maxAgeMs: 600_000,
            });
            cleanup.runs++;
            cleanup.dispatched += dispatched;
            if (dispatched > 0)
              say(
                `${(now() / 1000).toFixed(1)} s  scheduled cleanup dispatched ${dispatched} stranded parked message(s)`,
              );
          } catch (error) {
            say(`scheduled cleanup failed: ${String(error)}`);
          }
        });
      }, cleanupEveryMs),
    );

    /** An instance inside its handler now (ran within the work's span), waiting up to 3 s for one. */
    const midHandler = async (): Promise<number | undefined> => {
      for (const deadline = now() + 3000; now() < deadline;) {
        const working = [...lastRanAt].filter(
          ([instance, at]) =>
            !paused.has(instance) && now() - at < WORK_MS * 0.6,
        );
        if (working.length > 0) return random.pick(working)[0];
        await new Promise(resolve => setTimeout(resolve, 5));
      }
      return undefined;
    };

    const faults: HandlerFaultRecord[] = [];
    const healed: Promise<void>[] = [];
    const minutes = options.durationMs / 60_000;
    const schedule = [
      ...Array.from(
        {length: Math.max(2, Math.round(PAUSES_PER_MINUTE * minutes))},
        () => 'pause' as const,
      ),
      ...Array.from(
        {length: Math.max(1, Math.round(KILLS_PER_MINUTE * minutes))},
        () => 'kill' as const,
      ),
    ].map(kind => {
      const durationMs =
        kind === 'pause'
          ? // Past the deadline (renewals stopped) and the lease after it.
            options.deadlineMs + options.leaseMs + random.int(500, 2000)
          : random.int(300, 2000);
      return {
        kind,
        durationMs,
        instance: random.int(0, options.instances - 1),
        atMs: random.int(
          LEAD_IN_MS,
          Math.max(LEAD_IN_MS, options.durationMs - durationMs - 1000),
        ),
      };
    });
    for (const fault of schedule)
      healed.push(
        new Promise<void>(resolve =>
          timers.push(
            setTimeout(() => {
              void (async () => {
                if (fault.kind === 'pause') {
                  const target = await midHandler();
                  const instance = target ?? fault.instance;
                  if (paused.has(instance)) return;
                  paused.add(instance);
                  (instances[instance] as WorkerInstance).signal('SIGSTOP');
                  faults.push({
                    ...fault,
                    instance,
                    atMs: now(),
                    midHandler: target !== undefined,
                  });
                  say(
                    `${(now() / 1000).toFixed(1)} s  instance ${instance} paused for ${fault.durationMs} ms${target === undefined ? ' (no handler running)' : ', inside its handler'}`,
                  );
                  await new Promise(wake => setTimeout(wake, fault.durationMs));
                  (instances[instance] as WorkerInstance).signal('SIGCONT');
                  paused.delete(instance);
                } else {
                  if (paused.has(fault.instance)) return;
                  faults.push({...fault, atMs: now()});
                  say(
                    `${(now() / 1000).toFixed(1)} s  instance ${fault.instance} killed, replaced after ${fault.durationMs} ms`,
                  );
                  paused.add(fault.instance);
                  // Its pushes wait for the replacement, as Cloud Run routes them to a live instance.
                  await (instances[fault.instance] as WorkerInstance).crash();
                  await new Promise(wake => setTimeout(wake, fault.durationMs));
                  await (instances[fault.instance] as WorkerInstance).restart();
                  paused.delete(fault.instance);
                }
              })()
                .catch((error: unknown) =>
                  say(`fault failed: ${String(error)}`),
                )
                .finally(resolve);
            }, fault.atMs),
          ),
        ),
      );

    const published = new Map<string, number>();
    const eventsOf = new Map<string, string[]>();
    const account = (index: number) => `${run}-account-${index}`;
    for (let sent = 0; now() < options.durationMs; sent++) {
      const to = random.int(0, options.instances - 1);
      const name = account(sent % ACCOUNTS);
      await (instances[to] as WorkerInstance).work
        .publishMessage({
          json: {account: name, amount: 1, eventId: `${run}-event-${sent}`},
        })
        .then(
          () => {
            published.set(name, (published.get(name) ?? 0) + 1);
            eventsOf.set(name, [
              ...(eventsOf.get(name) ?? []),
              `${run}-event-${sent}`,
            ]);
          },
          (error: unknown) => say(`publish failed: ${String(error)}`),
        );
      await new Promise(resolve => setTimeout(resolve, PUBLISH_EVERY_MS));
    }
    say(
      `${(now() / 1000).toFixed(1)} s  published ${[...published.values()].reduce((a, b) => a + b, 0)} events; healing`,
    );
    await Promise.all(healed);
    say(`${(now() / 1000).toFixed(1)} s  every fault healed; settling`);

    const settleFrom = now();
    const balances = new Map<string, number | undefined>();
    let changedAt = now();
    for (;;) {
      let changed = false;
      for (const name of published.keys()) {
        const [entity] = (await db.get(db.key([ACCOUNT_KIND, name]))) as [
          {balance?: unknown} | undefined,
        ];
        const balance =
          entity?.balance === undefined ? undefined : Number(entity.balance);
        if (balance !== balances.get(name)) changed = true;
        balances.set(name, balance);
      }
      if (changed) changedAt = now();
      const done = [...published].every(
        ([name, count]) => balances.get(name) === count,
      );
      if (
        done ||
        now() - changedAt > quietMs ||
        now() - settleFrom > SETTLE_LIMIT_MS
      )
        break;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    // Anything still in flight (a redelivery counted twice) lands now.
    await new Promise(resolve => setTimeout(resolve, 2000));
    for (const name of published.keys()) {
      const [entity] = (await db.get(db.key([ACCOUNT_KIND, name]))) as [
        {balance?: unknown} | undefined,
      ];
      balances.set(
        name,
        entity?.balance === undefined ? undefined : Number(entity.balance),
      );
    }
    const settleMs = Math.round(now() - settleFrom);
    // Where a balance is off: which of its events the worker recorded as applied (once-key records,
    // or the control's own records). An event never recorded was never applied: still undelivered.
    const unapplied = new Map<string, string[]>();
    for (const [name, count] of published)
      if (balances.get(name) !== count) {
        const ids = eventsOf.get(name) ?? [];
        const applied = options.fenced
          ? await appliedEventIds(db, name, ids)
          : await controlAppliedIds(db, ids);
        unapplied.set(
          name,
          ids.filter(id => !applied.has(id)),
        );
      }
    return {
      options: {
        seed: options.seed,
        durationMs: options.durationMs,
        instances: options.instances,
        leaseMs: options.leaseMs,
        deadlineMs: options.deadlineMs,
        fenced: options.fenced,
        cleanupEveryMs,
      },
      workMs: WORK_MS,
      accounts: ACCOUNTS,
      publishEveryMs: PUBLISH_EVERY_MS,
      check: checkBalances(published, balances, unapplied),
      faults,
      seen,
      cleanup,
      settleMs,
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await cleaning;
    lastResort();
    process.removeListener('exit', lastResort);
    await pubsub?.close();
    await Promise.all(services.map(service => service.stop()));
    if (emulatorHostSet) delete process.env.PUBSUB_EMULATOR_HOST;
  }
}

async function controlAppliedIds(
  db: Datastore,
  ids: readonly string[],
): Promise<Set<string>> {
  const [found] = (await db.get(
    ids.map(id => db.key([CONTROL_APPLIED_KIND, id])),
  )) as [{[key: symbol]: {name?: string}}[]];
  return new Set(found.map(entity => String(entity[db.KEY]?.name)));
}
