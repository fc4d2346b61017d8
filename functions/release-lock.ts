import {LockKind} from '../shared';
import {defaultLocking, type Locking} from '../shared/locking';
import {jsonEndpoint} from './http/json-endpoint';

/**
 * POST {identifier, token, kind?}
 * 200 {released: true} | 409 {error: "not_holder"} (the lock, if any, is untouched) | 400 | 401 | 405 | 413 | 503
 */
export function releaseLockHandler(locking: Locking) {
  return jsonEndpoint('releaseLock', async body => {
    // The library validates all three and answers INVALID_ARGUMENT (400) for a bad one.
    const kind = (body.kind ?? LockKind.STRONG) as LockKind;
    const released = await locking.releaseByToken(
      body.identifier as string,
      body.token as string,
      {kind},
    );
    return released
      ? {status: 200, body: {released: true}}
      : {status: 409, body: {error: 'not_holder'}};
  });
}

export const releaseLock = releaseLockHandler(defaultLocking);
