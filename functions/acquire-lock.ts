import { Lock, LockKind, type LockOptions } from '../shared';
import { InvalidRequest, jsonEndpoint } from './http/json-endpoint';

/**
 * POST {identifier, wait?, stealAfterMs?, waitForMs?, kind?}
 * 200 {identifier, token, kind, acquiredAt, fence?} | 409 {error: "lock_held"} | 400 | 401 | 405 | 413 | 503
 *
 * A wait is capped at LOCKS_HTTP_MAX_WAIT_MS (below the function timeout), so no request outlives
 * its function. The fence is a decimal string: it is an int64, beyond JSON's safe integers.
 */
export const acquireLock = jsonEndpoint('acquireLock', async (body, settings) => {
  const options = lockOptionsOf(body);
  const wait = options.wait ?? true;
  const waitForMs = wait ? Math.min(options.waitForMs ?? settings.httpMaxWaitMs, settings.httpMaxWaitMs) : undefined;
  const held = await Lock.acquire(body.identifier as string, { ...options, ...(waitForMs === undefined ? {} : { waitForMs }) });
  if (!held) return { status: 409, body: { error: 'lock_held' } };
  return {
    status: 200,
    body: {
      identifier: held.identifier,
      token: held.token,
      kind: held.kind,
      acquiredAt: held.acquiredAt.toISOString(),
      ...(held.fence === undefined ? {} : { fence: held.fence.toString() }),
    },
  };
});

/** Only the fields the API names; the library validates their values and types. */
function lockOptionsOf(body: Record<string, unknown>): LockOptions {
  const options: Record<string, unknown> = {};
  for (const field of ['wait', 'stealAfterMs', 'waitForMs', 'kind'] as const) {
    if (body[field] !== undefined && body[field] !== null) options[field] = body[field];
  }
  if (options.kind !== undefined && options.kind !== LockKind.STRONG && options.kind !== LockKind.WEAK) {
    throw new InvalidRequest(`kind must be "STRONG" or "WEAK", got ${JSON.stringify(options.kind)}`);
  }
  return options as LockOptions;
}
