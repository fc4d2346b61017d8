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

/** @internal */
export function currentRuntime(): LockRuntime {
  current ??= new LockRuntime(resolveLockingConfig({}));
  return current;
}
