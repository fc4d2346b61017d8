import type {LockBackend} from '../core/backend';
import {checkKind, slotOf} from './backend-option';
import {defaultBackend} from './default-backends';
import type {LockKind} from '../core/kinds';
import {LocalWaitQueue} from '../core/local-queue';
import type {ResolvedLockingConfig} from './resolved-config';

/**
 * A configuration in force plus what it lazily builds: one backend per kind (the one given, or
 * one built from the environment), and the in-process wait queue. A Lock keeps the runtime it was
 * acquired with, so reconfiguring never sends a release to a different store.
 */
export class LockRuntime {
  readonly queue = new LocalWaitQueue();
  private readonly backends = new Map<LockKind, Promise<LockBackend>>();

  constructor(readonly config: ResolvedLockingConfig) {}

  backend(kind: LockKind): Promise<LockBackend> {
    let backend = this.backends.get(kind);
    if (!backend) {
      backend = this.createBackend(kind);
      this.backends.set(kind, backend);
      backend.catch(() => this.backends.delete(kind));
    }
    return backend;
  }

  private async createBackend(kind: LockKind): Promise<LockBackend> {
    const slot = slotOf(kind);
    const given = this.config[slot];
    return given === undefined
      ? defaultBackend(kind, this.config)
      : checkKind(slot, await given);
  }
}

/**
 * How an operation finds its runtime when it runs: an instance's own, or the module-level API's
 * current one (read at call time, so `configureLocking` applies to guards defined before it).
 */
export type RuntimeSource = () => LockRuntime;
