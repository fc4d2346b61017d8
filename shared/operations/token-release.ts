import {attemptRelease, attemptRenew} from '../core/attempts';
import type {RuntimeSource} from '../configuration/runtime';
import {LockError} from '../core/errors';
import {typeOf, validateIdentifier} from '../validation';
import {holderIdOf} from '../core/holder-id';
import {LockKind} from '../core/kinds';
import {resolveLockOptions} from '../configuration/options';
import {leaseOption} from '../validation';
import {observeRelease, observeRenew} from '../telemetry/lock-telemetry';

/** Tokens are UUIDs; anything much longer is not one of ours. */
export const MAX_TOKEN_LENGTH = 256;

/** @internal */
export async function releaseByTokenIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  token: string,
  options: {kind?: LockKind} = {},
): Promise<boolean> {
  validateIdentifier(identifier);
  validateToken(token);
  const {kind} = resolveLockOptions({kind: options?.kind ?? LockKind.STRONG});
  const runtime = runtimeOf();
  const {recordIdentifiers} = runtime.config.telemetry;
  try {
    const backend = await runtime.backend(kind);
    return await observeRelease(
      {kind, identifier, recordIdentifiers},
      holderIdOf(token),
      () => attemptRelease(backend, identifier, token, runtime.config.retry),
    );
  } finally {
    runtime.queue.wake(kind, identifier);
  }
}

/** @internal */
export async function renewByTokenIn(
  runtimeOf: RuntimeSource,
  identifier: string,
  token: string,
  options: {kind?: LockKind; leaseMs?: number} = {},
): Promise<{expiresAt: Date | undefined} | null> {
  validateIdentifier(identifier);
  validateToken(token);
  const {kind} = resolveLockOptions({kind: options?.kind ?? LockKind.STRONG});
  const leaseMs = leaseOption(options?.leaseMs);
  const runtime = runtimeOf();
  const backend = await runtime.backend(kind);
  const request = {
    identifier,
    token,
    ...(leaseMs === undefined ? {} : {leaseMs}),
  };
  const outcome = await observeRenew(
    {
      kind,
      identifier,
      recordIdentifiers: runtime.config.telemetry.recordIdentifiers,
    },
    holderIdOf(token),
    undefined,
    () => attemptRenew(backend, request, runtime.config.retry),
    renewal => renewal.renewed,
  );
  return outcome.renewed ? {expiresAt: outcome.record.expiresAt} : null;
}

/** @internal */
export function validateToken(token: unknown): asserts token is string {
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > MAX_TOKEN_LENGTH
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters, got ${typeOf(token)}`,
    );
  }
}
