import { attemptCleanup } from './attempts';
import { currentRuntime } from './config';
import { LockError } from './errors';
import { LockKind } from './kinds';
import { durationOption } from './options';

/** djangae's default: a lock older than 10 minutes is taken to be abandoned. */
export const DEFAULT_CLEANUP_MAX_AGE_MS = 10 * 60 * 1000;

/**
 * Deletes abandoned STRONG locks: those older than `maxAgeMs`, and stealable ones past their steal
 * time. A lock re-acquired after it was found is never deleted. Resolves the number deleted.
 * WEAK locks need no cleanup: memcached expires stealable ones and evicts the rest.
 */
export async function cleanupStaleLocks(options: { maxAgeMs?: number; now?: Date } = {}): Promise<{ deleted: number }> {
  const maxAgeMs = durationOption('maxAgeMs', options.maxAgeMs) ?? DEFAULT_CLEANUP_MAX_AGE_MS;
  const now = options.now ?? new Date();
  const runtime = currentRuntime();
  const backend = await runtime.backend(LockKind.STRONG);
  const cleanup = backend.cleanup?.bind(backend);
  if (!cleanup) throw new LockError('BACKEND_FAILURE', 'the STRONG backend cannot clean up', { kind: LockKind.STRONG });
  const criteria = { acquiredBefore: new Date(now.getTime() - maxAgeMs), expiredBefore: now };
  return { deleted: await attemptCleanup(() => cleanup(criteria), runtime.config.retry) };
}
