import {randomUUID} from 'node:crypto';
import {retrying} from './attempts';
import type {FencedWriteOutcome, FencedWriteRequest} from './backend';
import type {RetryPolicy} from './backoff';
import {BackendCallError, LockError} from './errors';
import {
  MAX_ONCE_KEY_BYTES,
  type EntityData,
  type EntityPath,
  type EntityUpdate,
  type FencedWriteOptions,
  type FencedWriteResult,
} from './fenced-data';
import {LockKind} from './kinds';
import type {LockRuntime} from '../configuration/runtime';
import {invalidArgument, objectOption, typeOf} from '../validation';

/**
 * A held lock's fenced write (`held.fencedUpdate`, `held.fencedDelete`) on its own STRONG store:
 * the lock's fence goes with it, so a holder cannot pass the wrong one or forget it.
 */
export async function heldFencedWrite(
  runtime: LockRuntime,
  held: {readonly kind: LockKind; readonly fence: bigint | undefined},
  path: EntityPath,
  update: EntityUpdate | undefined,
  options: FencedWriteOptions | undefined,
): Promise<FencedWriteResult> {
  if (held.kind !== LockKind.STRONG || typeof held.fence !== 'bigint')
    throw invalidArgument(
      'a fenced write needs a STRONG lock: a WEAK lock has no fence, so nothing can refuse its late writes',
    );
  checkPath(path);
  const backend = await runtime.backend(held.kind);
  const write = backend.fencedWrite?.bind(backend);
  if (!write)
    throw new LockError(
      'BACKEND_FAILURE',
      'the STRONG backend cannot make fenced writes',
      {kind: LockKind.STRONG},
    );
  return fencedWriteWithRetries(
    runtime.config.retry,
    runtime.config.onceKeyRetentionMs,
    request => write({...request, path}),
    held.fence,
    update,
    options,
  );
}

/**
 * One fenced write as the caller sees it, over a store's single attempts. Contention is retried.
 * A commit whose outcome is unknown (deadline, unavailable) is retried only with a once-key: the
 * retry then finds the once-key if the lost commit applied, and this call's own attempt id in it
 * tells that it was this call's write, so it resolves `applied` (with the data of the attempt that
 * landed), never a false `duplicate`. Without a once-key it rejects BACKEND_UNAVAILABLE: it may have
 * applied, and only the caller knows whether `update` can be applied twice.
 */
export function fencedWriteWithRetries(
  policy: RetryPolicy,
  retentionMs: number,
  attempt: (
    request: Omit<FencedWriteRequest, 'path'>,
  ) => Promise<FencedWriteOutcome>,
  fence: bigint,
  update: EntityUpdate | undefined,
  options: FencedWriteOptions = {},
): Promise<FencedWriteResult> {
  const {onceKey, excludeFromIndexes} = checkedOptions(options);
  if (update !== undefined && typeof update !== 'function')
    throw invalidArgument('a fenced update needs an update function');
  const callId = randomUUID();
  /** What each attempt wrote (or would have), by its attempt id. */
  const attempted = new Map<string, EntityData | undefined>();
  let attempts = 0;
  return retrying(
    policy,
    async () => {
      const writeId = `${callId}:${++attempts}`;
      attempted.set(writeId, undefined);
      const outcome = await attempt({
        fence,
        update:
          update &&
          (async current => {
            const data = await update(current);
            attempted.set(writeId, data);
            return data;
          }),
        excludeFromIndexes,
        once:
          onceKey === undefined
            ? undefined
            : {
                onceKey,
                writeId,
                expiresAt: new Date(Date.now() + retentionMs),
              },
      });
      if (outcome.applied) return {applied: true, data: outcome.data};
      if (attempted.has(outcome.writeId))
        return {applied: true, data: attempted.get(outcome.writeId)};
      return {applied: false, reason: 'duplicate'};
    },
    error =>
      error instanceof BackendCallError &&
      error.retryable &&
      (!error.mayHaveApplied || onceKey !== undefined),
  );
}

/** `[kind, name, (kind, name)...]`, each a non-empty string. */
export function checkPath(path: unknown): asserts path is EntityPath {
  if (
    !Array.isArray(path) ||
    path.length === 0 ||
    path.length % 2 !== 0 ||
    !path.every(part => typeof part === 'string' && part.length > 0)
  ) {
    throw invalidArgument(
      `a fenced write's path must be [kind, name, (kind, name)...] of non-empty strings, got ${describePath(path)}`,
    );
  }
  for (let i = 0; i < path.length; i += 2) {
    if ((path[i] as string).startsWith('__'))
      throw invalidArgument(
        `a fenced write's path has the kind ${JSON.stringify(path[i])}: kinds starting with "__" are the store's own`,
      );
  }
}

function describePath(path: unknown): string {
  if (!Array.isArray(path)) return typeOf(path);
  return `an array of ${path.length} (${path.map(part => (typeof part === 'string' ? (part ? 'string' : 'empty string') : typeOf(part))).join(', ')})`;
}

function checkedOptions(options: unknown): {
  onceKey: string | undefined;
  excludeFromIndexes: readonly string[];
} {
  objectOption("a fenced write's options", options);
  const {onceKey, excludeFromIndexes, ...unknown} =
    options as FencedWriteOptions;
  const extra = Object.keys(unknown);
  if (extra.length > 0)
    throw invalidArgument(
      `a fenced write's options have no field ${JSON.stringify(extra[0])} (known: onceKey, excludeFromIndexes)`,
    );
  if (
    onceKey !== undefined &&
    (typeof onceKey !== 'string' ||
      onceKey.length === 0 ||
      Buffer.byteLength(onceKey, 'utf8') > MAX_ONCE_KEY_BYTES)
  )
    throw invalidArgument(
      `onceKey must be a non-empty string of at most ${MAX_ONCE_KEY_BYTES} bytes, got ${typeof onceKey === 'string' ? `${Buffer.byteLength(onceKey, 'utf8')} bytes` : typeOf(onceKey)}`,
    );
  if (
    excludeFromIndexes !== undefined &&
    (!Array.isArray(excludeFromIndexes) ||
      !excludeFromIndexes.every(name => typeof name === 'string'))
  )
    throw invalidArgument(
      `excludeFromIndexes must be an array of property names, got ${typeOf(excludeFromIndexes)}`,
    );
  return {onceKey, excludeFromIndexes: excludeFromIndexes ?? []};
}
