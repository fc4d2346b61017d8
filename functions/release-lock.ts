import { LockKind, releaseByToken } from '../shared';
import { InvalidRequest, jsonEndpoint } from './http/json-endpoint';

/**
 * POST {identifier, token, kind?}
 * 200 {released: true} | 409 {error: "not_holder"} (the lock, if any, is untouched) | 400 | 401 | 405 | 413 | 503
 */
export const releaseLock = jsonEndpoint('releaseLock', async (body) => {
  const kind = body.kind ?? LockKind.STRONG;
  if (kind !== LockKind.STRONG && kind !== LockKind.WEAK) {
    throw new InvalidRequest(`kind must be "STRONG" or "WEAK", got ${JSON.stringify(kind)}`);
  }
  const released = await releaseByToken(body.identifier as string, body.token as string, { kind });
  return released ? { status: 200, body: { released: true } } : { status: 409, body: { error: 'not_holder' } };
});
