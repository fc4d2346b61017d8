import {randomUUID} from 'node:crypto';
import {Datastore} from '@google-cloud/datastore';
import type {Firestore} from '@google-cloud/firestore';
import type {Client as MemjsClient} from 'memjs';
import {configureLocking, Lock, LockKind, type Locking} from '../../shared';

/**
 * Everything the benchmark races, behind one shape: take a lock (waiting), then let it go. The
 * floor is not a lock: one raw insert and one raw delete, the least any Datastore lock can do (on
 * Firestore native: one raw create and one raw delete).
 */
export interface Contender {
  readonly name: string;
  /** Acquires that threw and were tried again (the peer's transactions fail under contention). */
  failures: number;
  /** The Datastore client whose RPCs the cost rows count, where there is one. */
  readonly datastore?: Datastore;
  /** The Firestore client whose RPCs the cost rows count, for Firestore native mode. */
  readonly firestore?: Firestore;
  acquire(identifier: string): Promise<() => Promise<unknown>>;
}

export function ourStrong(
  datastore: Datastore,
  label = 'this project, STRONG',
): Contender {
  return {
    name: label,
    datastore,
    failures: 0,
    async acquire(identifier) {
      configureOnce({datastore});
      const held = await Lock.acquire(identifier);
      if (!held) throw new Error('not acquired');
      return () => held.release();
    },
  };
}

export function ourWeak(
  memcache: MemjsClient,
  datastore: Datastore,
): Contender {
  return {
    name: 'this project, WEAK, memcached',
    failures: 0,
    async acquire(identifier) {
      configureOnce({datastore, memcache});
      const held = await Lock.acquire(identifier, {kind: LockKind.WEAK});
      if (!held) throw new Error('not acquired');
      return () => held.release();
    },
  };
}

/** WEAK locks through an instance of the library of their own (memcached or Valkey), so rows of both stores can run in one process. */
export function weakOn(locking: Locking, name: string): Contender {
  return {
    name,
    failures: 0,
    async acquire(identifier) {
      const held = await locking.acquire(identifier, {kind: LockKind.WEAK});
      if (!held) throw new Error('not acquired');
      return () => held.release();
    },
  };
}

/** @google-automations/datastore-lock 7.1.3: a transaction to acquire, a transaction to release. */
export function peer(): Contender {
  // It builds its own client from the environment (DATASTORE_EMULATOR_HOST), cached per module.
  const {DatastoreLock} = require('@google-automations/datastore-lock') as {
    DatastoreLock: new (
      lockId: string,
      target: string,
      expiry?: number,
      timeout?: number,
    ) => {
      datastore: Datastore;
      acquire(): Promise<boolean>;
      release(): Promise<boolean>;
    };
  };
  const probe = new DatastoreLock('bench', 'probe');
  const contender: Contender = {
    name: '@google-automations/datastore-lock 7.1.3',
    datastore: probe.datastore,
    failures: 0,
    async acquire(identifier) {
      const held = new DatastoreLock('bench', identifier, 60_000, 600_000);
      // Under contention on Firestore mode its acquire can throw ("This transaction has already
      // expired", from a rollback after a lock timeout); a caller would try again, so do we.
      for (;;) {
        try {
          if (await held.acquire()) return () => held.release();
        } catch {
          // counted below
        }
        contender.failures++;
      }
    },
  };
  return contender;
}

export function floor(datastore: Datastore): Contender {
  return {
    name: 'floor: raw insert + raw delete',
    datastore,
    failures: 0,
    async acquire(identifier) {
      const key = datastore.key(['BenchFloor', identifier]);
      await datastore.insert({key, data: {token: randomUUID()}});
      return () => datastore.delete(key);
    },
  };
}

/** STRONG locks on Firestore native mode (waiters listen to the lock's document). */
export function ourStrongFirestore(
  firestore: Firestore,
  label = 'this project, STRONG, Firestore native',
): Contender {
  return {
    name: label,
    firestore,
    failures: 0,
    async acquire(identifier) {
      configureOnce({firestore});
      const held = await Lock.acquire(identifier);
      if (!held) throw new Error('not acquired');
      return () => held.release();
    },
  };
}

/** One raw create and one raw delete, through the same client: the least a Firestore lock can do. */
export function firestoreFloor(firestore: Firestore): Contender {
  return {
    name: 'floor: raw create + raw delete (Firestore native)',
    firestore,
    failures: 0,
    async acquire(identifier) {
      const ref = firestore
        .collection('BenchFloor')
        .doc(identifier.replace(/\//g, '_'));
      await ref.create({token: randomUUID()});
      return () => ref.delete();
    },
  };
}

interface Clients {
  readonly datastore?: Datastore | undefined;
  readonly firestore?: Firestore | undefined;
  readonly memcache?: MemjsClient | undefined;
}

let configured: Clients = {};
/** Reconfigures only when the clients change; a WEAK client, once given, is kept. */
function configureOnce(clients: Clients): void {
  const wanted = {
    ...clients,
    memcache: clients.memcache ?? configured.memcache,
  };
  if (
    wanted.datastore === configured.datastore &&
    wanted.firestore === configured.firestore &&
    wanted.memcache === configured.memcache
  )
    return;
  configured = wanted;
  configureLocking({
    ...(wanted.firestore
      ? {firestore: wanted.firestore}
      : wanted.datastore
        ? {datastore: wanted.datastore}
        : {}),
    ...(wanted.memcache ? {memcache: wanted.memcache} : {}),
  });
}
