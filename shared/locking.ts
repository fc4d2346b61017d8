import {
  cleanupStaleLocksIn,
  type cleanupStaleLocks,
} from './operations/cleanup';
import {
  fencedUpdateIn,
  type fencedUpdate,
} from './stores/datastore/fenced-update';
import {
  fencedUpdateDocumentIn,
  type fencedUpdateDocument,
} from './stores/firestore/fenced-update-document';
import {forceReleaseIn, type forceRelease} from './operations/force-release';
import {listLocksIn, type listLocks} from './operations/list-locks';
import {acquireIn, lockIn, type Lock, type lock} from './core/lock';
import {currentRuntime} from './configuration/config';
import type {LockingConfig} from './configuration/locking-config';
import {peekIn, type peek} from './operations/peek';
import {lockedHandlerIn, type lockedHandler} from './pubsub/locked-handler';
import {resolveLockingConfig} from './configuration/resolve-config';
import {LockRuntime, type RuntimeSource} from './configuration/runtime';
import {
  releaseByTokenIn,
  renewByTokenIn,
  type releaseByToken,
  type renewByToken,
} from './operations/token-release';

/**
 * The library's API bound to one configuration: the module's functions, with locks on the
 * backends this instance was given (or built from its configuration).
 */
export interface Locking {
  readonly Lock: {readonly acquire: typeof Lock.acquire};
  /** The same as `Lock.acquire`. */
  readonly acquire: typeof Lock.acquire;
  readonly lock: typeof lock;
  readonly peek: typeof peek;
  readonly forceRelease: typeof forceRelease;
  readonly listLocks: typeof listLocks;
  readonly cleanupStaleLocks: typeof cleanupStaleLocks;
  readonly releaseByToken: typeof releaseByToken;
  readonly renewByToken: typeof renewByToken;
  readonly fencedUpdate: typeof fencedUpdate;
  readonly fencedUpdateDocument: typeof fencedUpdateDocument;
  readonly lockedHandler: typeof lockedHandler;
}

/**
 * An instance of the library with a configuration of its own: `createLocking({strong, weak, ...})`,
 * with backends from the factories (createDatastoreBackend, createFirestoreBackend,
 * createMemcachedBackend) or any LockBackend; a kind given no backend gets one built from the
 * rest of the configuration, as the module-level API does. Bad configuration throws here. The
 * module-level API is the default instance, which `configureLocking` reconfigures.
 */
export function createLocking(config: LockingConfig = {}): Locking {
  const runtime = new LockRuntime(resolveLockingConfig(config));
  return lockingOn(() => runtime);
}

/** The module-level API as an instance: its calls go to the runtime `configureLocking` set last. */
export const defaultLocking: Locking = lockingOn(currentRuntime);

function lockingOn(runtimeOf: RuntimeSource): Locking {
  const acquire: typeof Lock.acquire = (identifier, options) =>
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
