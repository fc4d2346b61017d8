import {currentRuntime} from './configuration/config';
import type {LockingConfig} from './configuration/locking-config';
import {resolveLockingConfig} from './configuration/resolve-config';
import {LockRuntime, type RuntimeSource} from './configuration/runtime';
import type {LockKind} from './core/kinds';
import {
  acquireIn,
  lockIn,
  type Lock,
  type LockGuard,
  type LockOptionsOf,
} from './core/lock';
import type {LockOptions} from './configuration/options';
import {cleanupStaleLocksIn} from './operations/cleanup';
import {forceReleaseIn} from './operations/force-release';
import {listLocksIn, type ListLocksOptions} from './operations/list-locks';
import {peekIn, type PeekedLock} from './operations/peek';
import {releaseByTokenIn, renewByTokenIn} from './operations/token-release';
import {lockedHandlerIn} from './pubsub/locked-handler';
import {fencedUpdateIn} from './stores/datastore/fenced-update';
import {fencedUpdateDocumentIn} from './stores/firestore/fenced-update-document';

/**
 * Acquires the lock, or resolves `null` when it could not (bailed with `wait: false`, or
 * `waitForMs` ran out). Rejects with LockError for bad input or a store that stays unavailable.
 */
export type AcquireLock = <K extends LockKind = LockKind.STRONG>(
  identifier: string,
  options?: LockOptionsOf<K>,
) => Promise<Lock<K> | null>;

/**
 * The library's API bound to one configuration. The module-level functions (`lock`, `peek`, ...)
 * are the members of the default instance; `createLocking` makes others. What needs an optional
 * client is added by its entry: `lockedHandler` by `cloud-functions-locking/pubsub`,
 * `fencedUpdate` by `/datastore`, `fencedUpdateDocument` by `/firestore`.
 */
export interface Locking {
  readonly Lock: {readonly acquire: AcquireLock};
  /** The same as `Lock.acquire`. */
  readonly acquire: AcquireLock;
  /** djangae's `lock(identifier, ...)`, as a guard. Bad input throws here, at definition time. */
  readonly lock: (identifier: string, options?: LockOptions) => LockGuard;
  /** The current holder of `identifier`, or `null` when the lock is free. */
  readonly peek: (
    identifier: string,
    options?: {kind?: LockKind},
  ) => Promise<PeekedLock | null>;
  /**
   * An operator's forced release: removes whatever lock `identifier` has now, whoever holds it,
   * and logs what it removed (never the token) to the configured logger. Resolves the holder it
   * removed, or `null` when the lock was free. The holder learns of it only when its own release
   * (or renewal) answers `false`. The removal is still conditional on the holder it read, so a
   * lock that changed hands between the read and the delete is read again, never removed blindly.
   */
  readonly forceRelease: (
    identifier: string,
    options?: {kind?: LockKind},
  ) => Promise<PeekedLock | null>;
  /**
   * The STRONG locks held now, oldest grant first, as `peek()` describes them (never a token). For
   * operators' tools. A lock whose lease ran out but that nobody has taken or cleaned up yet is
   * still listed: its `expiresAt` says so. WEAK locks cannot be listed: memcached has no way to
   * enumerate its keys (look one up with `peek(identifier, { kind: WEAK })`).
   */
  readonly listLocks: (options?: ListLocksOptions) => Promise<PeekedLock[]>;
  /**
   * Deletes abandoned STRONG locks, and the fenced writes' once-key records past their retention
   * (fence records are never removed: they are what refuses a stale write). Abandoned locks:
   * leased ones whose lease has expired; lease-less ones whose last sign of life (grant or
   * renewal) is older than `maxAgeMs`, or past their own steal time. A live lease is never
   * deleted, whatever `maxAgeMs`, and neither is a lock re-acquired or renewed after it was found.
   * Judged on the store's clock where it reports one; `now` (this host's clock by default) only
   * picks the candidates there. Resolves the number deleted, and the number of stranded waiting
   * rooms whose oldest parked message it dispatched. WEAK locks need no cleanup: memcached
   * expires leased and stealable ones and evicts the rest.
   */
  readonly cleanupStaleLocks: (options?: {
    maxAgeMs?: number;
    now?: Date;
  }) => Promise<{deleted: number; dispatched: number}>;
  /**
   * Releases the lock `identifier` on behalf of the holder of `token`, for callers that hold only
   * the token (the HTTP API, another process). `true` when that token held it and it was removed;
   * `false` when the lock is free or another token holds it, which is then left untouched.
   */
  readonly releaseByToken: (
    identifier: string,
    token: string,
    options?: {kind?: LockKind},
  ) => Promise<boolean>;
  /**
   * Renews the lock `identifier` on behalf of the holder of `token` (the HTTP API, another
   * process): its lease runs `leaseMs` from now (default: the grant's own lease); a lease-less
   * grant's last sign of life becomes now. `null` when that token does not hold the lock;
   * otherwise when the lock now becomes takeable, on this host's clock (absent for a lease-less
   * lock without a steal time). Without the grant's revision the store reads the lock first.
   */
  readonly renewByToken: (
    identifier: string,
    token: string,
    options?: {kind?: LockKind; leaseMs?: number},
  ) => Promise<{expiresAt: Date | undefined} | null>;
}

/**
 * An instance of the library with a configuration of its own: `createLocking({strong, weak, ...})`,
 * with backends from the factories (`cloud-functions-locking/datastore`, `/firestore`,
 * `/memcached`) or any LockBackend; a kind given no backend gets one built from the rest of the
 * configuration, as the module-level API does. Bad configuration throws here. The module-level
 * API is the default instance, which `configureLocking` reconfigures.
 */
export function createLocking(config: LockingConfig = {}): Locking {
  const runtime = new LockRuntime(resolveLockingConfig(config));
  return lockingOn(() => runtime);
}

/**
 * The module-level API as an instance: its calls go to the runtime `configureLocking` set last.
 * @internal
 */
export const defaultLocking: Locking = lockingOn(currentRuntime);

/** Every operation, once, on the runtime `runtimeOf` gives. */
function lockingOn(runtimeOf: RuntimeSource): Locking {
  const acquire: AcquireLock = (identifier, options) =>
    acquireIn(runtimeOf, identifier, options);
  return {
    Lock: {acquire},
    acquire,
    lock: (identifier, options) => lockIn(runtimeOf, identifier, options),
    peek: (identifier, options) => peekIn(runtimeOf, identifier, options),
    forceRelease: (identifier, options) =>
      forceReleaseIn(runtimeOf, identifier, options),
    listLocks: options => listLocksIn(runtimeOf, options),
    cleanupStaleLocks: options => cleanupStaleLocksIn(runtimeOf, options),
    releaseByToken: (identifier, token, options) =>
      releaseByTokenIn(runtimeOf, identifier, token, options),
    renewByToken: (identifier, token, options) =>
      renewByTokenIn(runtimeOf, identifier, token, options),
    fencedUpdate: (datastore, key, fence, update, options) =>
      fencedUpdateIn(runtimeOf, datastore, key, fence, update, options),
    fencedUpdateDocument: (ref, fence, update, options) =>
      fencedUpdateDocumentIn(runtimeOf, ref, fence, update, options),
    lockedHandler: (options, handler) =>
      lockedHandlerIn(runtimeOf, options, handler),
  };
}
