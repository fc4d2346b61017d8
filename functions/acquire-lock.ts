import type {HttpFunction} from '@google-cloud/functions-framework';
import type {LockOptions} from '../shared';
import type {Locking} from '../shared';
import {defaultLocking, resolveLockOptions} from '../shared/internal';
import {jsonEndpoint, type EndpointApi} from './http/json-endpoint';

const OPTION_FIELDS = [
  'wait',
  'stealAfterMs',
  'leaseMs',
  'waitForMs',
  'kind',
] as const;
const ACQUIRE_LOCK: EndpointApi = {
  name: 'acquireLock',
  fields: ['identifier', ...OPTION_FIELDS],
};

/**
 * POST {identifier, wait?, stealAfterMs?, leaseMs?, waitForMs?, kind?}
 * 200 {identifier, token, holderId, kind, acquiredAt, fence?, expiresAt?} | 409 {error: "lock_held"} | 400 | 401 | 403 | 405 | 413 | 415 | 503
 *
 * Every acquire has a budget of at most LOCKS_HTTP_MAX_WAIT_MS (below the function timeout), which
 * bounds its store calls too, so no request outlives its function. A client that disconnects stops
 * the wait, and a lock granted after it left is released: nobody would ever hear of its token. The
 * fence is a decimal string: it is an int64, beyond JSON's safe integers. With `leaseMs` the lock
 * is the caller's for that long unless renewed (renewLock); `expiresAt` is the lease's end on the
 * function's clock. Nothing renews it here: a function cannot outlive its request.
 */
export function acquireLockHandler(locking: Locking): HttpFunction {
  return jsonEndpoint(ACQUIRE_LOCK, async (body, settings, clientGone) => {
    // Validated before the cap is applied, so the cap never turns a bad value into a good one.
    const options = resolveLockOptions(lockOptionsOf(body));
    const waitForMs = Math.min(
      options.waitForMs ?? settings.httpMaxWaitMs,
      settings.httpMaxWaitMs,
    );
    const held = await locking.Lock.acquire(body.identifier as string, {
      wait: options.wait,
      kind: options.kind,
      ...(options.stealAfterMs === undefined
        ? {}
        : {stealAfterMs: options.stealAfterMs}),
      ...(options.leaseMs === undefined ? {} : {leaseMs: options.leaseMs}),
      waitForMs,
      signal: clientGone,
    });
    if (!held) return {status: 409, body: {error: 'lock_held'}};
    if (clientGone.aborted) {
      await held.release();
      return {status: 409, body: {error: 'client_gone'}};
    }
    return {
      status: 200,
      body: {
        identifier: held.identifier,
        token: held.token,
        holderId: held.holderId,
        kind: held.kind,
        acquiredAt: held.acquiredAt.toISOString(),
        ...(held.fence === undefined ? {} : {fence: held.fence.toString()}),
        ...(held.expiresAt === undefined
          ? {}
          : {expiresAt: held.expiresAt.toISOString()}),
      },
    };
  });
}

export const acquireLock: HttpFunction = acquireLockHandler(defaultLocking);

/** Only the fields the API names (null taken as absent); the library validates their values and types. */
function lockOptionsOf(body: Record<string, unknown>): LockOptions {
  const options: Record<string, unknown> = {};
  for (const field of OPTION_FIELDS) {
    if (body[field] !== undefined && body[field] !== null)
      options[field] = body[field];
  }
  return options as LockOptions;
}
