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
];
