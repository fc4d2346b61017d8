import type {LockingConfig} from './locking-config';
import {resolveLockingConfig} from './resolve-config';
import {LockRuntime} from './runtime';

/**
 * The module-level API's configuration: the default instance's runtime (see createLocking for
 * instances of one's own). Built from the environment on first use.
 */
let current: LockRuntime | undefined;

/** Replaces the configuration for locks acquired from now on. `configureLocking()` restores the defaults. */
export function configureLocking(config: LockingConfig = {}): void {
  current = new LockRuntime(resolveLockingConfig(config));
}

export function currentRuntime(): LockRuntime {
  current ??= new LockRuntime(resolveLockingConfig({}));
  return current;
}

// Where the configuration's parts used to live; kept so importers of this module keep working.
export type {
  LockingConfig,
  ResolvedLockingConfig,
  TelemetryConfig,
} from './locking-config';
export {
  RECORD_IDENTIFIERS_VARIABLE,
  resolveLockingConfig,
} from './resolve-config';
export {LockRuntime} from './runtime';
export {DEFAULT_RPC_TIMEOUT_MS} from './store-defaults';
export {
  DATABASE_ID,
  isStrongStore,
  STRONG_STORES,
  type StrongStore,
} from './strong-store';
