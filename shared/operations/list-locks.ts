import type {RuntimeSource} from '../configuration/runtime';
import {LockError} from '../core/errors';
import {typeOf} from '../validation';
import {isLockKind, LockKind} from '../core/kinds';
import {durationOption} from '../validation';
import {describeHolder, type PeekedLock} from './peek';

export interface ListLocksOptions {
  /** Only identifiers that start with this. */
  prefix?: string;
  /** Only locks granted at least this long ago (this host's clock against the holder's). */
  olderThanMs?: number;
  /** At most this many. Default: 1,000. */
  limit?: number;
  /** Which kind of locks: STRONG (default), or WEAK where their store can list them (Valkey; memcached cannot). */
  kind?: LockKind;
}

export const DEFAULT_LIST_LIMIT = 1000;

/** @internal */
export async function listLocksIn(
  runtimeOf: RuntimeSource,
  options: ListLocksOptions = {},
): Promise<PeekedLock[]> {
  if (options === null || typeof options !== 'object')
    throw new LockError(
      'INVALID_ARGUMENT',
      `listLocks takes an object, got ${typeOf(options)}`,
    );
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `prefix must be a string, got ${typeOf(options.prefix)}`,
    );
  }
  const olderThanMs = durationOption('olderThanMs', options.olderThanMs);
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new LockError(
      'INVALID_ARGUMENT',
      `limit must be a whole number >= 1, got ${String(limit)}`,
    );
  const kind = options.kind ?? LockKind.STRONG;
  if (!isLockKind(kind))
    throw new LockError(
      'INVALID_ARGUMENT',
      `kind must be "STRONG" or "WEAK", got ${JSON.stringify(kind)}`,
    );
  const runtime = runtimeOf();
  const backend = await runtime.backend(kind);
  if (!backend.list)
    throw new LockError(
      'BACKEND_FAILURE',
      `the ${kind} backend cannot list its locks`,
      {kind},
    );
  const records = await backend.list({
    limit,
    ...(options.prefix === undefined ? {} : {prefix: options.prefix}),
    ...(olderThanMs === undefined
      ? {}
      : {acquiredBefore: new Date(Date.now() - olderThanMs)}),
  });
  return records.map(describeHolder);
}
