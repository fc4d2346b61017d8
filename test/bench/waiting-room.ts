import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import {PubSub} from '@google-cloud/pubsub';
import {ACCOUNT_KIND} from '../../functions/example-worker';
import {documentId} from '../../shared/stores/firestore/document-id';
import {PARK_SEQ_ATTRIBUTE} from '../../shared/pubsub/wake-up';
import {DEFAULT_ENTITY_KIND} from '../../shared/configuration/store-defaults';
import {lockKeyName} from '../../shared/stores/common/lock-key-name';
import {
  startPushDispatcher,
  type PushDispatcher,
} from '../support/push-dispatcher';
import {appliedEventIds} from '../support/worker-ledger';
import {
  cpuByGroup,
  cpuUseBetween,
  sampleCpu,
  sampleProcessCpu,
} from './machine-cpu';
import {percentile, round} from './stats';
import {pushLatencyFloor} from './waiting-room-floor';
import {
  BreakdownCollector,
  type HandOffBreakdown,
} from './waiting-room-breakdown';

/**
 * Issue 22's goals, measured on the example worker as Cloud Run runs it (test/support/push-dispatcher.ts:
 * single-request instances behind one queueing URL that both push subscriptions post to), side by
 * side: today's re-queue (EXAMPLE_WAITING_ROOM=off) and lockedHandler's waiting room (the default).
 */
export interface WaitingRoomBenchOptions {
  readonly project: string;
  readonly legacyHost: string;
  /** Also on Firestore in Datastore mode (the engine production Datastore runs on) when given. */
  readonly datastoreModeHost?: string;
  /** Also on Firestore native mode when given. */
  readonly nativeHost?: string;
}

export type Mode = 'baseline' | 'waitingRoom';
export type Store = 'legacy' | 'datastoreMode' | 'native';

interface Burst {
  readonly name: 'oneKey' | 'tenKeys';
  readonly events: number;
  readonly accounts: number;
  readonly instances: number;
  readonly workMs: number;
  readonly budgetMs: number;
  /** How often the balances are read to see the end: a fraction of the time it should take. */
  readonly pollMs: number;
}

export const ONE_KEY: Burst = {
  name: 'oneKey',
  events: 30,
  accounts: 1,
  instances: 6,
  workMs: 100,
  budgetMs: 60_000,
  pollMs: 25,
};
export const TEN_KEYS: Burst = {
  name: 'tenKeys',
  events: 1000,
  accounts: 10,
  // One running per key, and two more so parks and wake-ups need not wait for a handler to end.
  instances: 12,
  workMs: 100,
  budgetMs: 180_000,
  pollMs: 100,
};

export interface BurstResult {
  readonly store: Store;
  readonly mode: Mode;
  readonly burst: Burst['name'];
  readonly instances: number;
  /** From the first publish until every balance held every event. */
  readonly allAppliedMs: number;
  readonly messagesPerSecond: number;
  /** The physical limit (events × work on one key, or events / accounts × work) ÷ allAppliedMs. */
  readonly efficiency: number;
  readonly deliveriesPerEvent: number;
  readonly retryDeliveries: number;
  readonly queueWaitP95Ms: number;
  readonly peakInFlight: number;
  /** The machine's cores busy (every process) from the first publish until all applied, 0 to 1. */
  readonly cpuBusyShare: number;
  /** That CPU time per event: instances, dispatcher, emulators and the bench itself. */
  readonly cpuMsPerEvent: number;
  /** Events per second the machine could run at most at that cost per event, every core busy. */
  readonly cpuCeilingPerSecond: number;
  /** cpuMsPerEvent by who spent it: each emulator, the instances, the bench, everything else. */
  readonly cpuMsPerEventBy: readonly {group: string; msPerUnit: number}[];
  /** From 'handed the lock on' to the woken handler's 'running', paired per identifier and seq. */
  readonly handOffs: number;
  readonly handOffP50Ms: number;
  readonly handOffP95Ms: number;
  /** Where each hand-off's time went, and what a contended message cost (waiting-room-breakdown.ts). */
  readonly breakdown: HandOffBreakdown;
  /** Every event applied once: balances equal the sum of amounts (and once-keys all present on Datastore). */
  readonly exactlyOnce: boolean;
  readonly missing: number;
  readonly wrongBalances: number;
  readonly timedOut: boolean;
  /** When it timed out on Datastore: what the locks and their rooms held at the end. */
  readonly rooms?: string;
}

export async function waitingRoomBench(
  options: WaitingRoomBenchOptions,
): Promise<{
  result: {bursts: BurstResult[]; pushFloor: PushFloor};
  lines: string[];
}> {
  const stores = storesOf(options);
  const result: BurstResult[] = [];
  for (const store of stores)
    for (const burst of [ONE_KEY, TEN_KEYS])
      for (const mode of ['baseline', 'waitingRoom'] as Mode[]) {
        const outcome = await runBurst(options, store, mode, burst);
        console.error(JSON.stringify(outcome));
        result.push(outcome);
      }
  const pushFloor = await measurePushFloor(options.project);
  return {
    result: {bursts: result, pushFloor},
    lines: report(result, pushFloor),
  };
}

/** The stores a run covers: the legacy emulator always, the others when their host is given. */
export function storesOf(options: WaitingRoomBenchOptions): Store[] {
  return [
    'legacy',
    ...(options.datastoreModeHost ? (['datastoreMode'] as const) : []),
    ...(options.nativeHost ? (['native'] as const) : []),
  ];
}

export type PushFloor = {p50Ms: number; p95Ms: number};

export async function measurePushFloor(project: string): Promise<PushFloor> {
  const pubsub = new PubSub({projectId: project});
  try {
    return await pushLatencyFloor(pubsub);
  } finally {
    await pubsub.close();
  }
}

export async function runBurst(
  options: WaitingRoomBenchOptions,
  store: Store,
  mode: Mode,
  burst: Burst,
): Promise<BurstResult> {
  const run = `wr-${store}-${mode}-${burst.name}-${process.pid}-${Date.now()}`;
  const pubsub = new PubSub({projectId: options.project});
  const ledger = ledgerOf(options, store);
  const breakdown = new BreakdownCollector();
  const accountOf = new Map<string, string>();
  // Instances that have served a warm-up message; the burst's lines are read only after.
  const warmed = new Set<number>();
  let warming = true;
  const dispatcher = await startPushDispatcher(pubsub, {
    label: run,
    instances: burst.instances,
    env: {
      GOOGLE_CLOUD_PROJECT: options.project,
      ...(store === 'native'
        ? {
            LOCKS_STRONG_STORE: 'firestore',
            FIRESTORE_EMULATOR_HOST: options.nativeHost ?? '',
          }
        : {
            LOCKS_STRONG_STORE: 'datastore',
            DATASTORE_EMULATOR_HOST: datastoreHostOf(options, store),
          }),
      EXAMPLE_WORKER_WORK_MS: String(burst.workMs),
      ...(mode === 'baseline' ? {EXAMPLE_WAITING_ROOM: 'off'} : {}),
    },
    onLine: (line, instance) => {
      // WAITING_ROOM_BENCH_VERBOSE=1 shows what the instances log (why a run stalls).
      if (process.env.WAITING_ROOM_BENCH_VERBOSE)
        console.error(`[${instance}] ${line}`);
      if (!warming) breakdown.line(line);
      else if (line.includes('lockedHandler: running')) warmed.add(instance);
    },
    onPush: push => {
      // When each woken message's push reached the dispatcher: splits a hand-off into Pub/Sub's leg and ours.
      const seq = push.attributes[PARK_SEQ_ATTRIBUTE];
      const account = accountOf.get(push.eventId ?? '');
      if (seq !== undefined && account)
        breakdown.push(`account:${account}`, seq, push.arrivedAtMs);
    },
  });
  try {
    await warmUp(dispatcher, run, burst.instances, warmed);
    dispatcher.resetStats();
    warming = false;
    const accounts = Array.from(
      {length: burst.accounts},
      (_, i) => `${run}-account-${i}`,
    );
    const events = Array.from({length: burst.events}, (_, i) => ({
      account: accounts[i % burst.accounts] as string,
      amount: i + 1,
      eventId: `${run}-event-${i}`,
    }));
    for (const event of events) accountOf.set(event.eventId, event.account);
    const expected = new Map<string, number>();
    for (const event of events)
      expected.set(
        event.account,
        (expected.get(event.account) ?? 0) + event.amount,
      );
    const cpuBefore = sampleCpu();
    const processCpuBefore = sampleProcessCpu();
    const publishedAt = performance.now();
    const publishedAtMs = Date.now();
    for (let start = 0; start < events.length; start += 100)
      await Promise.all(
        events
          .slice(start, start + 100)
          .map(json => dispatcher.publish({json})),
      );
    const deadline = publishedAt + burst.budgetMs;
    let balances = await ledger.balances(accounts);
    const done = () =>
      accounts.every(
        account => balances.get(account) === expected.get(account),
      );
    while (!done() && performance.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, burst.pollMs));
      balances = await ledger.balances(accounts);
    }
    const allAppliedMs = performance.now() - publishedAt;
    const cpuAfter = sampleCpu();
    const cpu = cpuUseBetween(cpuBefore, cpuAfter, burst.events);
    const cpuGroups = cpuByGroup(
      processCpuBefore,
      sampleProcessCpu(),
      cpuAfter.busyMs - cpuBefore.busyMs,
      burst.events,
    );
    const timedOut = !done();
    // Anything delivered again (a lapsed ack deadline, a double hand-off) would land now.
    await new Promise(resolve => setTimeout(resolve, 2000));
    balances = await ledger.balances(accounts);
    const wrongBalances = accounts.filter(
      account => balances.get(account) !== expected.get(account),
    ).length;
    const missing = await ledger.missing(events);
    const rooms = timedOut ? await ledger.rooms(accounts) : '';
    const stats = dispatcher.stats();
    const deliveries = [...stats.deliveries.values()].reduce(
      (sum, seen) => sum + seen.work + seen.retry,
      0,
    );
    const parts = breakdown.summary(publishedAtMs);
    const limitMs = (burst.events / burst.accounts) * burst.workMs;
    return {
      store,
      mode,
      burst: burst.name,
      instances: burst.instances,
      allAppliedMs: round(allAppliedMs, 0),
      messagesPerSecond: round(burst.events / (allAppliedMs / 1000), 1),
      efficiency: round(limitMs / allAppliedMs),
      deliveriesPerEvent: round(deliveries / burst.events),
      retryDeliveries: stats.pushes.retry,
      queueWaitP95Ms: round(percentile([...stats.queueWaitsMs], 95), 0),
      peakInFlight: stats.peakInFlight,
      cpuBusyShare: round(cpu.busyShare),
      cpuMsPerEvent: round(cpu.busyMsPerUnit, 1),
      cpuCeilingPerSecond: round(cpu.ceilingPerSecond, 1),
      cpuMsPerEventBy: cpuGroups.map(({group, msPerUnit}) => ({
        group,
        msPerUnit: round(msPerUnit, 1),
      })),
      handOffs: parts.handOffs,
      handOffP50Ms: parts.totalP50Ms,
      handOffP95Ms: parts.totalP95Ms,
      breakdown: parts,
      exactlyOnce: !timedOut && wrongBalances === 0 && missing === 0,
      missing,
      wrongBalances,
      timedOut,
      ...(rooms ? {rooms} : {}),
    };
  } finally {
    await dispatcher.close();
    await pubsub.close();
    await ledger.close();
  }
}

/**
 * Every instance serves one uncontended message (its own account, not counted) before the burst:
 * a fresh instance loads its store client on its first message, and six of them doing so at once
 * on a small machine took seconds, which the burst would otherwise measure instead of the lock.
 */
async function warmUp(
  dispatcher: PushDispatcher,
  run: string,
  instances: number,
  warmed: ReadonlySet<number>,
): Promise<void> {
  const until = performance.now() + WARM_UP_BUDGET_MS;
  for (let round = 0; warmed.size < instances; round++) {
    if (performance.now() > until)
      throw new Error(
        `warm-up: ${warmed.size} of ${instances} instances served a message in ${WARM_UP_BUDGET_MS} ms`,
      );
    await Promise.all(
      Array.from({length: instances}, (_, i) =>
        dispatcher.publish({
          json: {
            account: `${run}-warm-${round}-${i}`,
            amount: 1,
            eventId: `${run}-warm-${round}-${i}`,
          },
        }),
      ),
    );
    const roundEnds = performance.now() + 3000;
    while (warmed.size < instances && performance.now() < roundEnds)
      await new Promise(resolve => setTimeout(resolve, 50));
  }
  // Let the last warm-up answers land before the counts are reset.
  await new Promise(resolve => setTimeout(resolve, 500));
}

const WARM_UP_BUDGET_MS = 60_000;

interface Ledger {
  balances(accounts: readonly string[]): Promise<Map<string, number>>;
  /** On Datastore: each account's lock record and how many messages stay parked under it (why a run stalled). */
  rooms(accounts: readonly string[]): Promise<string>;
  /** Events whose once-key is not recorded (Datastore); 0 on Firestore, where the balances judge. */
  missing(
    events: readonly {account: string; eventId: string}[],
  ): Promise<number>;
  close(): Promise<void>;
}

function datastoreHostOf(
  options: WaitingRoomBenchOptions,
  store: Store,
): string {
  return store === 'datastoreMode'
    ? (options.datastoreModeHost ?? '')
    : options.legacyHost;
}

/** The example worker's balances, read plainly from the store the run used. */
function ledgerOf(options: WaitingRoomBenchOptions, store: Store): Ledger {
  if (store === 'native') {
    const firestore = new Firestore({
      projectId: options.project,
      host: options.nativeHost ?? '',
      ssl: false,
      customHeaders: {Authorization: 'Bearer owner'},
    });
    return {
      balances: async accounts => {
        const documents = await firestore.getAll(
          ...accounts.map(account =>
            firestore.collection(ACCOUNT_KIND).doc(documentId(account)),
          ),
        );
        return new Map(
          documents.map((document, i) => [
            accounts[i] as string,
            Number(document.get('balance') ?? 0),
          ]),
        );
      },
      missing: async () => 0,
      rooms: async () => '',
      close: () => firestore.terminate(),
    };
  }
  const datastore = new Datastore({
    projectId: options.project,
    apiEndpoint: datastoreHostOf(options, store),
  });
  return {
    balances: async accounts => {
      const [entities] = (await datastore.get(
        accounts.map(account => datastore.key([ACCOUNT_KIND, account])),
      )) as [
        ({balance?: unknown; [key: symbol]: {name?: string}} | undefined)[],
      ];
      const found = new Map<string, number>(
        accounts.map(account => [account, 0]),
      );
      for (const entity of entities)
        if (entity)
          found.set(
            String(entity[datastore.KEY]?.name),
            Number(entity.balance ?? 0),
          );
      return found;
    },
    missing: async events => {
      let missing = 0;
      for (const account of new Set(events.map(event => event.account))) {
        const ids = events
          .filter(event => event.account === account)
          .map(event => event.eventId);
        for (let start = 0; start < ids.length; start += 500) {
          const slice = ids.slice(start, start + 500);
          missing +=
            slice.length -
            (await appliedEventIds(datastore, account, slice)).size;
        }
      }
      return missing;
    },
    rooms: async accounts => {
      const described: string[] = [];
      for (const account of accounts) {
        const key = datastore.key([
          DEFAULT_ENTITY_KIND,
          lockKeyName(`account:${account}`),
        ]);
        const [lock] = (await datastore.get(key)) as [
          {token?: string; waiting?: unknown} | undefined,
        ];
        const [parked] = await datastore.runQuery(
          datastore
            .createQuery(`${DEFAULT_ENTITY_KIND}Parked`)
            .hasAncestor(key),
        );
        described.push(
          `${account.split('-').pop()}: lock ${lock ? (lock.token ? 'held' : 'vacant') : 'absent'}, ${parked.length} parked`,
        );
      }
      return described.join('; ');
    },
    close: async () => undefined,
  };
}

/** BENCHMARKS.md's section: baseline beside the waiting room beside the goal. */
export function report(
  results: readonly BurstResult[],
  pushFloor?: PushFloor,
): string[] {
  const find = (store: Store, burst: Burst['name'], mode: Mode) =>
    results.find(
      r => r.store === store && r.burst === burst && r.mode === mode,
    );
  const stores = [...new Set(results.map(r => r.store))];
  const storeName = (store: Store) =>
    ({
      legacy: 'legacy Datastore emulator',
      datastoreMode: 'Firestore in Datastore mode emulator',
      native: 'Firestore native-mode emulator',
    })[store];
  const cell = (
    r: BurstResult | undefined,
    value: (r: BurstResult) => string,
  ) => (r ? `${value(r)}${r.timedOut ? ' (TIMED OUT)' : ''}` : 'not run');
  const rows: string[] = [];
  for (const store of stores) {
    const one = (mode: Mode) => find(store, 'oneKey', mode);
    const ten = (mode: Mode) => find(store, 'tenKeys', mode);
    const row = (
      what: string,
      burst: (mode: Mode) => BurstResult | undefined,
      value: (r: BurstResult) => string,
      goal: string,
    ) =>
      rows.push(
        `| ${storeName(store)} | ${what} | ${cell(burst('baseline'), value)} | ${cell(burst('waitingRoom'), value)} | ${goal} |`,
      );
    row(
      `one key: 30 events, 100 ms work, ${ONE_KEY.instances} instances: all applied in`,
      one,
      r => `${(r.allAppliedMs / 1000).toFixed(2)} s`,
      '≤ 3.75 s',
    );
    row(
      'one key: efficiency (3.0 s ÷ that)',
      one,
      r => `${r.efficiency}`,
      '≥ 0.8',
    );
    row(
      'one key: deliveries per event',
      one,
      r =>
        `${r.deliveriesPerEvent} (${r.retryDeliveries} from the retry topic)`,
      '≤ 2',
    );
    row(
      `ten keys: 1,000 messages, 100 ms work, ${TEN_KEYS.instances} instances`,
      ten,
      r =>
        `${r.messagesPerSecond} messages/s (${(r.allAppliedMs / 1000).toFixed(1)} s)`,
      '≥ 80 messages/s',
    );
    const cpuCell = (r: BurstResult) =>
      `${Math.round(r.cpuBusyShare * 100)} % busy, ${r.cpuMsPerEvent} CPU-ms per message: at most ${r.cpuCeilingPerSecond} messages/s`;
    const byGroup = (r: BurstResult) =>
      r.cpuMsPerEventBy
        .map(({group, msPerUnit}) => `${group} ${msPerUnit}`)
        .join(', ');
    row('machine CPU during the burst (one key)', one, cpuCell, '');
    row('CPU-ms per message by process (one key)', one, byGroup, '');
    row('machine CPU during the burst (ten keys)', ten, cpuCell, '');
    row('CPU-ms per message by process (ten keys)', ten, byGroup, '');
    row(
      'ten keys: deliveries per event',
      ten,
      r => `${r.deliveriesPerEvent}`,
      '',
    );
    const handOff = (r: BurstResult) =>
      r.handOffs === 0
        ? 'no hand-offs logged'
        : `p50 ${r.handOffP50Ms} ms, p95 ${r.handOffP95Ms} ms (${r.handOffs} hand-offs, ${r.breakdown.drained} drained in place)`;
    const split = (r: BurstResult) => {
      const b = r.breakdown;
      if (b.handOffs === 0) return 'no hand-offs logged';
      const part = (name: string, [p50, p95]: readonly [number, number]) =>
        Number.isFinite(p50) ? `${name} ${p50}/${p95}` : `${name} none`;
      return [
        part('store', b.storeMs),
        part('publish', b.publishMs),
        part('push', b.pushMs),
        part('queue', b.queueMs),
        part('claim', b.claimMs),
        part('other', b.otherMs),
      ].join(', ');
    };
    const costs = (r: BurstResult) =>
      r.breakdown.parks === 0
        ? 'nothing parked'
        : `${r.breakdown.storeTriesPerContended} room transactions, ${r.breakdown.publishesPerContended} publishes (${r.breakdown.parks} parked; park p50/p95 ${r.breakdown.parkMs[0]}/${r.breakdown.parkMs[1]} ms)`;
    row(
      'hand-off, release → next handler running (one key)',
      one,
      handOff,
      'p95 ≤ 100 ms',
    );
    row('hand-off (ten keys)', ten, handOff, 'p95 ≤ 100 ms');
    row('hand-off split, p50/p95 ms (one key)', one, split, '');
    row('hand-off split, p50/p95 ms (ten keys)', ten, split, '');
    row(
      'handler (work + fenced write), p50/p95 (one key)',
      one,
      r =>
        r.breakdown.handOffs === 0
          ? 'not logged'
          : `${r.breakdown.handlerMs[0]}/${r.breakdown.handlerMs[1]} ms`,
      '',
    );
    row(
      'first handler running, from the first publish (one key)',
      one,
      r =>
        Number.isFinite(r.breakdown.firstRunMs)
          ? `${r.breakdown.firstRunMs} ms`
          : 'not logged',
      '',
    );
    row('per contended message (one key)', one, costs, '');
    row('per contended message (ten keys)', ten, costs, '');
    row(
      'queue wait at the dispatcher, p95 (ten keys)',
      ten,
      r => `${r.queueWaitP95Ms} ms`,
      '',
    );
    const once = (r: BurstResult) =>
      r.exactlyOnce
        ? 'yes'
        : r.timedOut
          ? `**no**: ${r.missing} not applied when the budget ran out (${r.rooms ?? 'rooms not read'})`
          : `**no**: ${r.missing} once-keys missing, ${r.wrongBalances} balances off`;
    row('every event applied exactly once (one key)', one, once, 'yes');
    row('every event applied exactly once (ten keys)', ten, once, 'yes');
  }
  return [
    '## lockedHandler under contention: the waiting room against the re-queue (issue 22)',
    '',
    `The example worker as Cloud Run runs it: single-request Functions Framework instances behind one dispatcher (test/support/push-dispatcher.ts) that queues pushes FIFO when every instance is busy; the work topic's and the retry topic's push subscriptions both post to it. Baseline: today's re-queue (\`EXAMPLE_WAITING_ROOM=off\`: wait 250 ms, then re-publish with backoff 250 ms to 4 s). Waiting room: the default. Before each burst every instance serves one uncontended message of its own (not counted), so the burst measures the lock and not six cold starts at once. "All applied" is read from the balances (polled every ${ONE_KEY.pollMs} ms for one key, ${TEN_KEYS.pollMs} ms for ten); exactly once from the balances and, on Datastore, every event's once-key.`,
    '',
    "Hand-off split (test/bench/waiting-room-breakdown.ts, from the instances' logs): store is the hand-off's own transaction with its contention retries; publish the awaited publish of a wake-up; push from its answer to the push reaching the dispatcher; queue from there to the woken invocation beginning; claim its claim transaction; other what is left. A message drained in place has no publish, push, queue or claim. Room transactions: parks, hand-offs and claims (each one transaction, every retry counted) per message that parked.",
    '',
    '| store | measure | baseline (re-queue) | waiting room | goal |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(pushFloor
      ? [
          `The emulator's floor under every hand-off: an awaited publish to an idle push subscription reaches an HTTP server in p50 ${pushFloor.p50Ms} ms, p95 ${pushFloor.p95Ms} ms (20 probes). The Pub/Sub emulator 0.8.20 pushes one message at a time per subscription and its push loop sleeps 100 ms whenever the backlog is empty; real push has neither, so the hand-off's Pub/Sub leg here is an upper bound.`,
          '',
        ]
      : []),
    'Reproduce: `npm run bench` (this section is one of its scenarios), or this section alone: `npm run build && node dist/test/bench/waiting-room-main.js` (add `--native` for Firestore native mode).',
    '',
  ];
}
