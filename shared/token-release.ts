import { attemptRelease } from './attempts';
import { currentRuntime } from './config';
import { LockError } from './errors';
import { typeOf, validateIdentifier } from './identifier';
import { LockKind } from './kinds';
import { resolveLockOptions } from './options';

/** Tokens are UUIDs; anything much longer is not one of ours. */
export const MAX_TOKEN_LENGTH = 256;

/**
 * Releases the lock `identifier` on behalf of the holder of `token`, for callers that hold only the
 * token (the HTTP API, another process). `true` when that token held it and it was removed; `false`
 * when the lock is free or another token holds it, which is then left untouched.
 */
export async function releaseByToken(identifier: string, token: string, options: { kind?: LockKind } = {}): Promise<boolean> {
  validateIdentifier(identifier);
  validateToken(token);
  const { kind } = resolveLockOptions({ kind: options?.kind ?? LockKind.STRONG });
  const runtime = currentRuntime();
  try {
    return await attemptRelease(await runtime.backend(kind), identifier, token, runtime.config.retry);
  } finally {
    runtime.queue.wake(kind, identifier);
  }
}

export function validateToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new LockError('INVALID_ARGUMENT', `token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters, got ${typeOf(token)}`);
  }
}
