import {attemptPeek, attemptRelease} from '../core/attempts';
import type {RuntimeSource} from '../configuration/runtime';
import {LockError} from '../core/errors';
import {validateIdentifier} from '../validation';
import {LockKind} from '../core/kinds';
import {resolveLockOptions} from '../configuration/options';
import {describeHolder, type PeekedLock} from './peek';
import {releaseRevisionOf} from '../waiting-room/state';

/** A lock that changes hands this often while an operator removes it is in active use: stop. */
const MAX_TRIES = 5;

/** @internal */
export async function forceReleaseIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  options: {kind?: LockKind} = {},
): Promise<PeekedLock | null> {
  validateIdentifier(identifier);
  const {kind} = resolveLockOptions({kind: options?.kind ?? LockKind.STRONG});
  const runtime = runtimeOf();
  const {logger} = runtime.config;
  const backend = await runtime.backend(kind);
  try {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const current = await attemptPeek(
        backend,
        identifier,
        runtime.config.retry,
      );
      if (!current) {
        logger.info('forceRelease: the lock was free, nothing removed', {
          identifier,
          kind,
        });
        return null;
      }
      if (
        await attemptRelease(
          backend,
          identifier,
          current.token,
          runtime.config.retry,
          releaseRevisionOf(current),
        )
      ) {
        const removed = describeHolder(current);
        logger.warn('forceRelease: removed a lock', {kind, ...removed});
        return removed;
      }
    }
  } finally {
    runtime.queue.wake(kind, identifier);
  }
  throw new LockError(
    'BACKEND_FAILURE',
    `the lock changed hands ${MAX_TRIES} times while it was being force-released; it is in active use`,
    {kind},
  );
}
