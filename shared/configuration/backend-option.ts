import type {LockBackend} from '../core/backend';
import {LockError} from '../core/errors';
import {typeOf} from '../validation';
import {LockKind} from '../core/kinds';

type BackendSlot = 'strong' | 'weak';

const KIND_OF_SLOT: Record<BackendSlot, LockKind> = {
  strong: LockKind.STRONG,
  weak: LockKind.WEAK,
};

/** A backend given in the configuration: one, or a promise of one (what the backend factories return). */
export function backendOption(
  slot: BackendSlot,
  backend: unknown,
): LockBackend | Promise<LockBackend> | undefined {
  if (backend === undefined) return undefined;
  if (backend instanceof Promise) {
    // Its failure is reported to the first lock call of the kind, not as an unhandled rejection.
    backend.catch(() => undefined);
    return backend as Promise<LockBackend>;
  }
  if (
    backend === null ||
    typeof backend !== 'object' ||
    typeof (backend as LockBackend).tryAcquire !== 'function'
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `${slot} must be a LockBackend (or a promise of one), got ${typeOf(backend)}`,
    );
  }
  return checkKind(slot, backend as LockBackend);
}

/**
 * A backend's kind is what it promises: a STRONG one fences its grants and never loses a lock it
 * granted; a WEAK one does neither. So a backend serves only the locks of its own kind.
 */
export function checkKind(
  slot: BackendSlot,
  backend: LockBackend,
): LockBackend {
  const kind = KIND_OF_SLOT[slot];
  if (backend.kind !== kind)
    throw new LockError(
      'INVALID_ARGUMENT',
      `${slot} must be a ${kind} backend, got a ${String(backend.kind)} one`,
    );
  return backend;
}

export function slotOf(kind: LockKind): BackendSlot {
  return kind === LockKind.STRONG ? 'strong' : 'weak';
}
