import {PubSub} from '@google-cloud/pubsub';
import {startEmulator} from '../../infra/emulators';
import type {RunningService} from '../../infra/processes';
import {INJECTED_PUBLISH_FAILURE} from '../support/worker-ordered';
import {delay} from './child-process';
import {restoreTopology, snapshotTopology} from './pubsub-topology';
import type {ScenarioResult} from './report';
import {
  lostText,
  settle,
  verdict,
  verdictDetails,
  type Expected,
} from './waiting-room-check';
import {
  RoomRig,
  until,
  type RoomPubSub,
  type RoomStore,
} from './waiting-room-rig';

/**
 * The waiting room of issue 22 end to end (test/e2e/waiting-room*.test.ts runs these small; `npm
 * run reliability` larger): the ordered worker on several Functions Framework instances, fed by
 * Pub/Sub push, every message on ONE account, so every message contends for one lock. Each
 * scenario checks that every event was applied exactly once (once on the account's applied list,
 * its once-key recorded, the balance their sum) within its budget.
 */
export type RoomResult = Omit<ScenarioResult, 'scenario' | 'durationMs'>;

const RUNNING = 'lockedHandler: running';
const HANDED_ON = 'lockedHandler: handed the lock on';
const RELEASE_FAILED =
  'lockedHandler: release failed; the lock stays until its lease runs out';

function eventsOf(run: string, count: number, prefix = 'event') {
  return Array.from({length: count}, (_, i) => ({
    eventId: `${run}-${prefix}-${i}`,
    amount: i + 1,
  }));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export interface OrderSize {
  readonly events: number;
  readonly instances: number;
  /** How long the first event holds the lock while the others arrive and park. */
  readonly holdMs: number;
  readonly budgetMs: number;
}

/**
 * Order: one event holds the account's lock while `events` more arrive, spread over the instances,
 * and park; then each release hands the lock to the oldest. The applied order (the account's list)
 * must be the park order (the seqs lockedHandler logged). The cleanup runs every second as the
 * backstop of a release that fails; the report says how often it was needed.
 */
export async function roomOrder(
  store: RoomStore,
  pubsub: RoomPubSub,
  size: OrderSize,
): Promise<RoomResult> {
  const rig = await RoomRig.start(
    store,
    pubsub,
    'room-order',
    Array.from({length: size.instances}, () => ({
      EXAMPLE_WORKER_LEASE_MS: '5000',
      EXAMPLE_HANDOFF_LEASE_MS: '2000',
    })),
  );
  try {
    // The backstop a release that fails needs (seen: a hand-off's commit aborted by contention
    // with parks, after its retries); the report counts those, and what the cleanup dispatched.
    await rig.startCleanupFunction();
    rig.cleanupEvery(1000);
    const account = `${rig.run}-account`;
    const identifier = `account:${account}`;
    const expected: Expected = new Map();
    const holder = {eventId: `${rig.run}-holder`, amount: 1000};
    expected.set(holder.eventId, holder.amount);
    const holderId = await rig.publish(0, {
      ...holder,
      account,
      workMs: size.holdMs,
    });
    await rig.untilRunning(holderId, 30_000);
    const startedAt = Date.now();
    for (const [i, event] of eventsOf(rig.run, size.events).entries()) {
      expected.set(event.eventId, event.amount);
      await rig.publish(i % size.instances, {...event, account});
    }
    const settled = await settle(
      rig,
      account,
      expected,
      startedAt,
      size.budgetMs,
    );
    const v = verdict(expected, settled);
    const parkOrder = rig.parkOrder(identifier).map(p => p.eventId);
    const parkedSet = new Set(parkOrder);
    const appliedOrder = settled.account.applied.filter(id =>
      parkedSet.has(id),
    );
    const overtaken = appliedOrder.filter(
      (id, i) => parkOrder[i] !== id,
    ).length;
    const inOrder = overtaken === 0 && appliedOrder.length === parkOrder.length;
    const woken = rig
      .linesOf(RUNNING, identifier)
      .filter(l => l.outcome === 'woken');
    return {
      size: `${size.events} events on one account while one event holds its lock ${size.holdMs} ms, pushed to ${size.instances} instances`,
      lost: lostText(v),
      passed:
        v.exactlyOnce &&
        settled.inTime &&
        inOrder &&
        parkOrder.length === size.events,
      details: [
        `store: ${store.name}`,
        `${parkOrder.length} of ${size.events} parked (seqs ${rig
          .parkOrder(identifier)
          .map(p => p.seq)
          .join(
            ',',
          )}); ${woken.length} woken runs; ${rig.linesOf(HANDED_ON, identifier).length} hand-offs`,
        `applied in park order: ${inOrder ? 'yes' : `NO (${overtaken} out of place)`}`,
        `${rig.linesOf(RELEASE_FAILED, identifier).length} releases failed (the lock then waits for its 5 s lease); the cleanup dispatched ${rig.dispatchedByCleanup()}`,
        `all applied ${seconds(settled.settledMs)} after the first publish${settled.inTime ? '' : ' (BUDGET RAN OUT)'} (the holder's ${size.holdMs} ms included)`,
        ...verdictDetails(v),
      ],
    };
  } finally {
    await rig.stop();
  }
}

export interface HolderKilledSize {
  readonly parked: number;
  readonly leaseMs: number;
  readonly handOffLeaseMs: number;
  readonly budgetMs: number;
}

/**
 * A holder SIGKILLed with `parked` messages parked behind it: its lease ends (nothing renews it),
 * and the next arrival after that (the killed holder's own event, delivered again as Pub/Sub would)
 * takes the lapsed lock, parks behind the others and hands the lock to the oldest. No cleanup runs:
 * the arrival is the backstop. Bound: the lease, then one hand-off per message.
 */
export async function roomHolderKilled(
  store: RoomStore,
  pubsub: RoomPubSub,
  size: HolderKilledSize,
): Promise<RoomResult> {
  const env = {
    EXAMPLE_WORKER_LEASE_MS: String(size.leaseMs),
    EXAMPLE_HANDOFF_LEASE_MS: String(size.handOffLeaseMs),
  };
  const rig = await RoomRig.start(store, pubsub, 'room-killed', [
    env,
    env,
    env,
  ]);
  try {
    const account = `${rig.run}-account`;
    const identifier = `account:${account}`;
    const expected: Expected = new Map();
    const holder = {eventId: `${rig.run}-holder`, amount: 1000};
    expected.set(holder.eventId, holder.amount);
    const holderId = await rig.publish(0, {...holder, account, workMs: 60_000});
    await rig.untilRunning(holderId, 30_000);
    for (const [i, event] of eventsOf(rig.run, size.parked).entries()) {
      expected.set(event.eventId, event.amount);
      await rig.publish(1 + (i % 2), {...event, account});
    }
    await until(
      () => rig.parkOrder(identifier).length >= size.parked,
      30_000,
      `${size.parked} messages parked`,
    );
    const killedAt = Date.now();
    (rig.instances[0] as (typeof rig.instances)[number]).signal('SIGKILL');
    // The next arrival comes once the lease has ended: the holder's own event, redelivered.
    await delay(size.leaseMs + 500);
    const arrivalAt = Date.now();
    await rig.publish(1, {...holder, account});
    const settled = await settle(
      rig,
      account,
      expected,
      killedAt,
      size.budgetMs,
    );
    const v = verdict(expected, settled);
    const firstWoken = rig.lines.find(
      l =>
        l.message === RUNNING &&
        l.identifier === identifier &&
        l.outcome === 'woken',
    );
    const firstWokenMs =
      firstWoken && typeof firstWoken.startedAtMs === 'number'
        ? firstWoken.startedAtMs - killedAt
        : undefined;
    // Whether the holder still held when killed: a run of another message before the kill means
    // its lease had lapsed already (renewals late on a busy machine), so the kill met no holder.
    const runsBeforeKill = rig.lines.filter(
      l =>
        l.message === RUNNING &&
        l.identifier === identifier &&
        l.messageId !== holderId &&
        Number(l.at) < killedAt,
    ).length;
    const parkOrder = rig.parkOrder(identifier).map(p => p.eventId);
    const stranded = settled.account.applied.filter(id =>
      parkOrder.includes(id),
    );
    const inOrder = stranded.every((id, i) => parkOrder[i] === id);
    return {
      size: `a holder SIGKILLed with ${size.parked} messages parked behind it, lease ${size.leaseMs} ms, 3 instances`,
      lost: lostText(v),
      passed: v.exactlyOnce && settled.inTime && inOrder,
      details: [
        `store: ${store.name}`,
        runsBeforeKill === 0
          ? 'the holder held its lock, with every message parked, until it was killed'
          : `the holder's lease had LAPSED before the kill: ${runsBeforeKill} other runs began before it`,
        `the next arrival published ${arrivalAt - killedAt} ms after the kill (after the lease); first woken run ${firstWokenMs ?? '?'} ms after the kill`,
        `all ${expected.size} applied ${seconds(settled.settledMs)} after the kill${settled.inTime ? '' : ' (BUDGET RAN OUT)'}, in park order: ${inOrder ? 'yes' : 'NO'}`,
        ...verdictDetails(v),
      ],
    };
  } finally {
    await rig.stop();
  }
}

export interface FailedWakeUpSize {
  readonly parked: number;
  readonly instances: number;
  readonly handOffLeaseMs: number;
  readonly cleanupEveryMs: number;
  readonly budgetMs: number;
}

/**
 * A hand-off whose wake-up publish fails (injected: each instance's Pub/Sub client refuses its first
 * wake-up). The store has handed the lock to the parked message; its wake-up never leaves. The
 * hand-off lease lapses and the scheduled cleanup (its sweep) dispatches that message again.
 * Bound per failure: the hand-off lease plus one cleanup interval.
 */
export async function roomFailedWakeUp(
  store: RoomStore,
  pubsub: RoomPubSub,
  size: FailedWakeUpSize,
): Promise<RoomResult> {
  const env = {
    EXAMPLE_HANDOFF_LEASE_MS: String(size.handOffLeaseMs),
    WORKER_FAIL_WOKEN_PUBLISHES: '1',
    // Every hand-off publishes its wake-up (no drain), so the injected failures are met.
    EXAMPLE_DRAIN_BUDGET_MS: '0',
  };
  const rig = await RoomRig.start(
    store,
    pubsub,
    'room-wakeup',
    Array.from({length: size.instances}, () => env),
  );
  try {
    await rig.startCleanupFunction();
    const account = `${rig.run}-account`;
    const identifier = `account:${account}`;
    const expected: Expected = new Map();
    const holder = {eventId: `${rig.run}-holder`, amount: 1000};
    expected.set(holder.eventId, holder.amount);
    const holderId = await rig.publish(0, {...holder, account, workMs: 2000});
    await rig.untilRunning(holderId, 30_000);
    const startedAt = Date.now();
    for (const [i, event] of eventsOf(rig.run, size.parked).entries()) {
      expected.set(event.eventId, event.amount);
      await rig.publish(i % size.instances, {...event, account});
    }
    rig.cleanupEvery(size.cleanupEveryMs);
    const settled = await settle(
      rig,
      account,
      expected,
      startedAt,
      size.budgetMs,
    );
    const v = verdict(expected, settled);
    const injected = rig.lines.filter(
      l => l.message === INJECTED_PUBLISH_FAILURE,
    );
    const parkOrder = rig.parkOrder(identifier).map(p => p.eventId);
    const applied = settled.account.applied.filter(id =>
      parkOrder.includes(id),
    );
    const inOrder = applied.every((id, i) => parkOrder[i] === id);
    return {
      size: `${size.parked} messages parked behind a holder on ${size.instances} instances, each instance failing its first wake-up publish; hand-off lease ${size.handOffLeaseMs} ms, cleanup every ${size.cleanupEveryMs} ms`,
      lost: lostText(v),
      passed: v.exactlyOnce && settled.inTime && injected.length > 0 && inOrder,
      details: [
        `store: ${store.name}`,
        `${injected.length} wake-up publishes failed (injected); the cleanup's sweep dispatched ${rig.dispatchedByCleanup()} over ${rig.cleanups.length} calls`,
        `all ${expected.size} applied ${seconds(settled.settledMs)} after the first publish${settled.inTime ? '' : ' (BUDGET RAN OUT)'}, in park order: ${inOrder ? 'yes' : 'NO'}`,
        ...verdictDetails(v),
      ],
    };
  } finally {
    await rig.stop();
  }
}

export interface PubSubRestartSize {
  readonly events: number;
  /** Published after the restart. */
  readonly secondWave: number;
  readonly instances: number;
  readonly workMs: number;
  readonly downMs: number;
  readonly handOffLeaseMs: number;
  readonly cleanupEveryMs: number;
  readonly budgetMs: number;
}

/**
 * The Pub/Sub emulator (a dedicated one) stopped while a burst drains through the waiting room, and
 * started again empty, as an emulator keeps nothing: topics and subscriptions are created again.
 * Wake-ups in flight are lost with it; the parked messages are in the store. The emulator is
 * stopped only once every message of the first wave has been taken by lockedHandler (parked or
 * running), since a message Pub/Sub had not delivered yet is Pub/Sub's loss, not the room's. A
 * second wave follows the restart. The cleanup function sweeps every `cleanupEveryMs`.
 */
export async function roomPubSubRestart(
  store: RoomStore,
  project: string,
  size: PubSubRestartSize,
): Promise<RoomResult> {
  let emulator: RunningService = await startEmulator('pubsub');
  const clients: PubSub[] = [];
  const client = () => {
    const made = new PubSub({projectId: project, apiEndpoint: emulator.host});
    clients.push(made);
    return made;
  };
  let rig: RoomRig | undefined;
  try {
    // A 5 s lease: a release that fails (seen: a hand-off aborted by contention with parks) holds
    // the room up for the lease, then the cleanup sweeps it.
    const env = {
      EXAMPLE_WORKER_LEASE_MS: '5000',
      EXAMPLE_HANDOFF_LEASE_MS: String(size.handOffLeaseMs),
    };
    rig = await RoomRig.start(
      store,
      {client: client(), host: emulator.host},
      'room-pubsub',
      Array.from({length: size.instances}, () => env),
    );
    await rig.startCleanupFunction();
    rig.cleanupEvery(size.cleanupEveryMs);
    const account = `${rig.run}-account`;
    const identifier = `account:${account}`;
    const expected: Expected = new Map();
    const startedAt = Date.now();
    const first = eventsOf(rig.run, size.events);
    await Promise.all(
      first.map((event, i) => {
        expected.set(event.eventId, event.amount);
        return rig?.publish(i % size.instances, {
          ...event,
          account,
          workMs: size.workMs,
        });
      }),
    );
    const taken = await (async () => {
      const r = rig as RoomRig;
      await until(
        async () =>
          r.accepted(identifier).size >= size.events &&
          ((await store.ledger.account(account))?.applied.length ?? 0) >= 3,
        30_000,
        'the first wave taken by lockedHandler, and draining',
      );
      return (await store.ledger.account(account))?.applied.length ?? 0;
    })();
    const topology = await snapshotTopology(client());
    const stoppedAt = Date.now();
    const port = emulator.port;
    await emulator.stop();
    await delay(size.downMs);
    emulator = await startEmulator('pubsub', {port});
    const fresh = client();
    await restoreTopology(fresh, topology);
    const restartedAt = Date.now();
    const second = eventsOf(rig.run, size.secondWave, 'after');
    for (const [i, event] of second.entries()) {
      expected.set(event.eventId, event.amount);
      const instance = rig.instances[i % size.instances];
      await rig.publish(
        i % size.instances,
        {...event, account, workMs: size.workMs},
        fresh.topic(String(instance?.work.name), {batching: {maxMessages: 1}}),
      );
    }
    const settled = await settle(
      rig,
      account,
      expected,
      restartedAt,
      size.budgetMs,
    );
    const v = verdict(expected, settled);
    const parkOrder = rig.parkOrder(identifier);
    return {
      size: `${size.events} events on one account (${size.workMs} ms of work each) on ${size.instances} instances; the Pub/Sub emulator stopped mid-burst for ${size.downMs} ms and restarted empty; ${size.secondWave} more events after; cleanup every ${size.cleanupEveryMs} ms, hand-off lease ${size.handOffLeaseMs} ms`,
      lost: lostText(v),
      passed: v.exactlyOnce && settled.inTime,
      details: [
        `store: ${store.name}`,
        `stopped ${seconds(stoppedAt - startedAt)} after the first publish, with ${taken} of ${size.events} applied and the rest parked; back (topics and subscriptions created again) ${seconds(restartedAt - stoppedAt)} later`,
        `${parkOrder.length} parks in all; the cleanup's sweep dispatched ${rig.dispatchedByCleanup()} over ${rig.cleanups.length} calls (${rig.cleanups.filter(c => !c.answer.startsWith('200')).length} failed while Pub/Sub was down)`,
        `${rig.linesOf(RELEASE_FAILED, identifier).length} releases failed (the lock then waits for its 5 s lease)`,
        `all ${expected.size} applied ${seconds(settled.settledMs)} after the restart${settled.inTime ? '' : ' (BUDGET RAN OUT)'}`,
        ...verdictDetails(v),
      ],
    };
  } finally {
    await rig?.stop();
    await Promise.all(clients.map(c => c.close().catch(() => undefined)));
    await emulator.stop();
  }
}
