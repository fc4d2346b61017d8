import type {HttpFunction} from '@google-cloud/functions-framework';
import {LockKind} from '../shared';
import type {Locking} from '../shared';
import {defaultLocking} from '../shared/internal';
import {jsonEndpoint, type EndpointApi} from './http/json-endpoint';

const RELEASE_LOCK: EndpointApi = {
  name: 'releaseLock',
  fields: ['identifier', 'token', 'kind'],
};

/**
 * POST {identifier, token, kind?}
 * 200 {released: true} | 409 {error: "not_holder"} (the lock, if any, is untouched) | 400 | 401 | 403 | 405 | 413 | 415 | 503
 */
export function releaseLockHandler(locking: Locking): HttpFunction {
  return jsonEndpoint(RELEASE_LOCK, async body => {
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

export const releaseLock: HttpFunction = releaseLockHandler(defaultLocking);
