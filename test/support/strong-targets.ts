import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import type {SinonSandbox} from 'sinon';
import type {LockingConfig} from '../../shared';
import type {StrongStore} from '../../shared/configuration/strong-store';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import {DATASTORE_TARGETS, type DatastoreTarget} from './datastore-targets';
import {
  firestoreNativeClient,
  firestoreNativeHost,
} from './firestore-native-target';
import {TEST_PROJECT} from './global-setup';

/**
 * Every store STRONG locks run on, for the suites that must hold on each (cleanup, the HTTP
 * functions, lockedHandler): both Datastore emulators and the Firestore native-mode emulator.
 * A target says how to point the library at its store, and where a test must reach below the
 * library (slow a grant, act between cleanup's query and its deletes), which call to wrap.
 */
export interface StrongTarget {
  readonly name: string;
  readonly store: StrongStore;
  /** The Datastore emulator's own target (raw client, precondition support); absent on Firestore native. */
  readonly datastore?: DatastoreTarget;
  /** The emulator's address ("host:port"); read at test time. */
  host(): string;
  /** The library's configuration for this store's emulator; give `namespace` beside it to keep a test's locks apart. */
  config(): LockingConfig;
  /** The configuration for a server at `host` that speaks this store's protocol (a silent one, in fault tests). */
  configAt(host: string): LockingConfig;
  /** Wraps every write that may grant a lock (Datastore's commit, Firestore's create) with `around`. */
  wrapGrantWrites(
    sandbox: SinonSandbox,
    around: (write: () => Promise<unknown>) => Promise<unknown>,
  ): void;
  /** Runs `hook` after each page cleanup's query returns, before cleanup judges and deletes what it found. */
  afterCleanupQuery(
    sandbox: SinonSandbox,
    hook: (found: number) => Promise<void>,
  ): void;
}

function datastoreTarget(target: DatastoreTarget): StrongTarget {
  return {
    name: target.name,
    store: 'datastore',
    datastore: target,
    host: () => target.host(),
    config: () => ({datastore: target.client()}),
    configAt: host => ({
      datastore: new Datastore({projectId: TEST_PROJECT, apiEndpoint: host}),
    }),
    wrapGrantWrites: (sandbox, around) => {
      const commit = sandbox
        .stub(DatastoreRpc.prototype, 'commit')
        .callsFake(function (this: DatastoreRpc, ...args) {
          return around(() =>
            commit.wrappedMethod.apply(this, args),
          ) as ReturnType<DatastoreRpc['commit']>;
        });
    },
    afterCleanupQuery: (sandbox, hook) => {
      const query = sandbox
        .stub(DatastoreRpc.prototype, 'keysBefore')
        .callsFake(async function (this: DatastoreRpc, ...args) {
          const page = await query.wrappedMethod.apply(this, args);
          await hook(page.keys.length);
          return page;
        });
    },
  };
}

const FIRESTORE_NATIVE_TARGET: StrongTarget = {
  name: 'Firestore native mode emulator',
  store: 'firestore',
  host: firestoreNativeHost,
  config: () => ({firestore: firestoreNativeClient()}),
  configAt: host => ({
    firestore: new Firestore({
      projectId: TEST_PROJECT,
      host,
      ssl: false,
      customHeaders: {Authorization: 'Bearer owner'},
    }),
  }),
  wrapGrantWrites: (sandbox, around) => {
    const create = sandbox
      .stub(FirestoreCalls.prototype, 'create')
      .callsFake(function (this: FirestoreCalls, ...args) {
        return around(() =>
          create.wrappedMethod.apply(this, args),
        ) as ReturnType<FirestoreCalls['create']>;
      });
  },
  afterCleanupQuery: (sandbox, hook) => {
    const query = sandbox
      .stub(FirestoreCalls.prototype, 'query')
      .callsFake(async function (this: FirestoreCalls, ...args) {
        const page = await query.wrappedMethod.apply(this, args);
        await hook(page.size);
        return page;
      });
  },
};

export const STRONG_TARGETS: readonly StrongTarget[] = [
  ...DATASTORE_TARGETS.map(datastoreTarget),
  FIRESTORE_NATIVE_TARGET,
];

/** The Firestore-in-Datastore-mode emulator: where the suites ran store-independent tests before, and still do. */
export const DEFAULT_STRONG_TARGET = STRONG_TARGETS[1] as StrongTarget;

/** One target per client library, for tests whose "store" is not an emulator at all (a silent server). */
export const ONE_TARGET_PER_CLIENT: readonly StrongTarget[] =
  STRONG_TARGETS.filter(
    (target, index) =>
      STRONG_TARGETS.findIndex(other => other.store === target.store) === index,
  );
