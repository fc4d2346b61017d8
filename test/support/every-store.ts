import {LockKind, type LockingConfig} from '../../shared';
import {memcacheClient} from './memcache-target';
import {STRONG_TARGETS} from './strong-targets';

/** A store a lock can live on, and how to point the library at it. */
export interface StoreTarget {
  readonly name: string;
  readonly kind: LockKind;
  config(): LockingConfig;
}

/** Every store: each STRONG target (both Datastore emulators, Firestore native), and memcached (WEAK). */
export const EVERY_STORE: readonly StoreTarget[] = [
  ...STRONG_TARGETS.map(target => ({
    name: target.name,
    kind: LockKind.STRONG,
    config: () => target.config(),
  })),
  {
    name: 'memcached',
    kind: LockKind.WEAK,
    config: () => ({memcache: memcacheClient()}),
  },
];
