import {PubSub} from '@google-cloud/pubsub';
import type {RunningService} from '../../infra/processes';
import type {ScenarioResult} from './report';
import {holderCrash} from './holder-crash';
import {httpBadInput} from './http-bad-input';
import {
  datastoreLeaseStore,
  leaseCrash,
  memcachedLeaseStore,
} from './lease-crash';
import {pubsubBurst} from './pubsub-burst';
import {
  roomFailedWakeUp,
  roomHolderKilled,
  roomOrder,
  roomPubSubRestart,
  type RoomResult,
} from './waiting-room';
import type {RoomStore} from './waiting-room-rig';
import {datastoreRoomStore} from './waiting-room-stores';
import {soak} from './soak';
import {storeOutage} from './store-outage';

export interface Services {
  readonly project: string;
  readonly legacy: RunningService;
  readonly firestore: RunningService;
  readonly memcached: RunningService;
  readonly pubsub: RunningService;
}

export interface Scenario {
  readonly name: string;
  run(
    services: Services,
  ): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>>;
}

/** The size; the budget keeps a slow machine's run bounded, and the report says if it cut the soak short. */
const SOAK = {processes: 4, cycles: 500, identifiers: 3, budgetMs: 100_000};

const HTTP_BAD_REQUESTS = 2000;
const BURST = {
  messages: 1000,
  identifiers: 10,
  servers: 3,
  workMs: 100,
  budgetMs: 240_000,
};

/**
 * The waiting room's scenarios (issue 22), larger than test/e2e/waiting-room.test.ts runs them, on
 * the legacy Datastore emulator. Each instance serves requests concurrently, as the Functions
 * Framework does; the 2 s leases keep the backstops' bounds short.
 */
const ROOM_ORDER = {events: 100, instances: 3, holdMs: 5000, budgetMs: 120_000};
const ROOM_KILLED = {
  parked: 50,
  leaseMs: 2000,
  handOffLeaseMs: 2000,
  budgetMs: 90_000,
};
const ROOM_WAKE_UP = {
  parked: 40,
  instances: 3,
  handOffLeaseMs: 2000,
  cleanupEveryMs: 1000,
  budgetMs: 90_000,
};
const ROOM_PUBSUB_RESTART = {
  events: 100,
  secondWave: 30,
  instances: 3,
  workMs: 100,
  downMs: 3000,
  handOffLeaseMs: 2000,
  cleanupEveryMs: 1000,
  budgetMs: 120_000,
};

/** Runs `scenario` on the legacy emulator with a client of the run's Pub/Sub emulator, both closed after. */
async function withRoom(
  s: Services,
  scenario: (store: RoomStore, pubsub: {client: PubSub}) => Promise<RoomResult>,
): Promise<RoomResult> {
  const store = datastoreRoomStore(
    'legacy Datastore emulator',
    s.legacy.host,
    s.project,
  );
  const client = new PubSub({projectId: s.project, apiEndpoint: s.pubsub.host});
  try {
    return await scenario(store, {client});
  } finally {
    await client.close();
    await store.ledger.close();
  }
}

/** In the order they run. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'Soak, legacy Datastore emulator',
    run: s => soak('legacy', s.legacy.host, s.project, SOAK),
  },
  {
    name: 'Soak, Firestore in Datastore mode emulator',
    run: s => soak('firestore', s.firestore.host, s.project, SOAK),
  },
  {
    name: 'Holder crash (SIGKILL), legacy Datastore emulator',
    run: s => holderCrash(s.legacy.host, s.project),
  },
  {
    name: 'Holder crash (SIGKILL), Firestore in Datastore mode emulator',
    run: s => holderCrash(s.firestore.host, s.project),
  },
  {
    name: 'Crash recovery with leases (SIGKILL), legacy Datastore emulator',
    run: s => leaseCrash(datastoreLeaseStore(s.legacy.host, s.project)),
  },
  {
    name: 'Crash recovery with leases (SIGKILL), Firestore in Datastore mode emulator',
    run: s => leaseCrash(datastoreLeaseStore(s.firestore.host, s.project)),
  },
  {
    name: 'Crash recovery with leases (SIGKILL), memcached',
    run: s => leaseCrash(memcachedLeaseStore(s.memcached.host)),
  },
  {
    name: 'HTTP bad input',
    run: s =>
      httpBadInput(
        s.firestore.host,
        s.memcached.host,
        s.project,
        HTTP_BAD_REQUESTS,
      ),
  },
  {
    name: 'Store outage (emulator killed and restarted), legacy Datastore emulator',
    run: s => storeOutage('datastore-legacy', s.project),
  },
  {
    name: 'Store outage (emulator killed and restarted), Firestore in Datastore mode emulator',
    run: s => storeOutage('datastore-firestore', s.project),
  },
  {
    name: 'Pub/Sub burst',
    run: s => pubsubBurst(s.firestore.host, s.project, BURST),
  },
  {
    name: 'Waiting room: order on one key, legacy Datastore emulator',
    run: s => withRoom(s, (store, p) => roomOrder(store, p, ROOM_ORDER)),
  },
  {
    name: 'Waiting room: holder killed (SIGKILL) with messages parked, legacy Datastore emulator',
    run: s =>
      withRoom(s, (store, p) => roomHolderKilled(store, p, ROOM_KILLED)),
  },
  {
    name: 'Waiting room: wake-up publishes that fail (injected), legacy Datastore emulator',
    run: s =>
      withRoom(s, (store, p) => roomFailedWakeUp(store, p, ROOM_WAKE_UP)),
  },
  {
    name: 'Waiting room: Pub/Sub emulator restarted mid-burst, legacy Datastore emulator',
    run: s =>
      withRoom(s, store =>
        roomPubSubRestart(store, s.project, ROOM_PUBSUB_RESTART),
      ),
  },
];
