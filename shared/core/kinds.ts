/**
 * The two kinds of lock, as in djangae.contrib.locking.
 *
 * STRONG: Cloud Datastore (Firestore in Datastore mode). Never lets two holders in; every grant
 * carries a fencing token from the store.
 * WEAK: memcached. Cheap and fast, best effort: an eviction or a restart can let a second holder in.
 */
export enum LockKind {
  STRONG = 'STRONG',
  WEAK = 'WEAK',
}

/** djangae spells the enum LOCK_KINDS; kept as an alias so ported code reads the same. */
export const LOCK_KINDS = LockKind;
// The alias is also usable as a type, like the enum itself.
export type LOCK_KINDS = LockKind;

export function isLockKind(value: unknown): value is LockKind {
  return value === LockKind.STRONG || value === LockKind.WEAK;
}
