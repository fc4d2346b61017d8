import type {SinonSandbox} from 'sinon';
import type {LockingConfig} from '../../shared';
import {LockKind} from '../../shared';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {
  MemcacheOps,
  MemcacheStatus,
  MemcacheStatusError,
} from '../../shared/stores/memcached/memcache-ops';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import {DATASTORE_TARGETS} from './datastore-targets';
import {firestoreNativeClient} from './firestore-native-target';
import {memcacheClient} from './memcache-target';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {ValkeyCalls} from '../../shared/stores/valkey/valkey-calls';
import {valkeyClient} from './valkey-target';

/**
 * Every store the contract suites run against, unchanged (the in-memory backend's fixtures are in
 * memory-backend.ts). A fixture says how to point the
 * library at its store and how to make that store report contention, the one fault the contract
 * itself speaks of.
 */
export interface BackendFixture {
  readonly name: string;
  readonly kind: LockKind;
  config(): LockingConfig;
  /** Makes every write attempt fail as contention does on this store. */
  injectContention(sandbox: SinonSandbox): void;
}

const ABORTED = Object.assign(new Error('10 ABORTED: injected contention'), {
  code: 10,
});

const STRONG_FIXTURES: BackendFixture[] = DATASTORE_TARGETS.map(target => ({
  name: `STRONG on the ${target.name}`,
  kind: LockKind.STRONG,
  config: () => ({
    datastore: target.client(),
    retry: {initialMs: 5, maxMs: 20},
  }),
  injectContention: (sandbox: SinonSandbox) => {
    sandbox.stub(DatastoreRpc.prototype, 'commit').rejects(ABORTED);
  },
}));

const FIRESTORE_NATIVE_FIXTURE: BackendFixture = {
  name: 'STRONG on the Firestore native mode emulator',
  kind: LockKind.STRONG,
  config: () => ({
    firestore: firestoreNativeClient(),
    retry: {initialMs: 5, maxMs: 20},
  }),
  injectContention: (sandbox: SinonSandbox) => {
    for (const write of ['create', 'update', 'delete'] as const)
      sandbox.stub(FirestoreCalls.prototype, write).rejects(ABORTED);
  },
};

const WEAK_FIXTURE: BackendFixture = {
  name: 'WEAK on memcached',
  kind: LockKind.WEAK,
  config: () => ({
    memcache: memcacheClient(),
    retry: {initialMs: 5, maxMs: 20},
  }),
  // memcached's "try again": BUSY on the add.
  injectContention: (sandbox: SinonSandbox) => {
    sandbox
      .stub(MemcacheOps.prototype, 'add')
      .rejects(new MemcacheStatusError('add', MemcacheStatus.BUSY));
  },
};

const VALKEY_FIXTURE: BackendFixture = {
  name: 'WEAK on Valkey',
  kind: LockKind.WEAK,
  config: () => ({
    weak: createValkeyBackend(valkeyClient()),
    retry: {initialMs: 5, maxMs: 20},
  }),
  // Valkey's "try again": a script answered BUSY.
  injectContention: (sandbox: SinonSandbox) => {
    sandbox.stub(ValkeyCalls.prototype, 'script').rejects(
      Object.assign(new Error('BUSY Redis is busy running a script'), {
        name: 'ReplyError',
      }),
    );
  },
};

export const BACKEND_FIXTURES: readonly BackendFixture[] = [
  ...STRONG_FIXTURES,
  FIRESTORE_NATIVE_FIXTURE,
  WEAK_FIXTURE,
  VALKEY_FIXTURE,
];
