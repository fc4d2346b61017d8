import type {HttpFunction} from '@google-cloud/functions-framework';
import {LockKind} from '../shared';
import type {Locking} from '../shared';
import {defaultLocking} from '../shared/internal';
import {jsonEndpoint, type EndpointApi} from './http/json-endpoint';

const RENEW_LOCK: EndpointApi = {
  name: 'renewLock',
  fields: ['identifier', 'token', 'leaseMs', 'kind'],
};

/**
 * POST {identifier, token, leaseMs?, kind?}
 * 200 {identifier, expiresAt?} | 409 {error: "not_holder"} (the lock, if any, is untouched) | 400 | 401 | 403 | 405 | 413 | 415 | 503
 *
 * Extends the holder's lease by `leaseMs` from now (default: the grant's own lease); for a
 * lease-less grant, refreshes its last sign of life. `expiresAt` is when the lock becomes takeable
 * unless renewed again, on the function's clock; a lease-less grant without a steal time has none.
 * An expired lease that nobody has taken yet is renewed.
 */
export function renewLockHandler(locking: Locking): HttpFunction {
  return jsonEndpoint(RENEW_LOCK, async body => {
    // The library validates every field and answers INVALID_ARGUMENT (400) naming a bad one.
    const kind = (body.kind ?? LockKind.STRONG) as LockKind;
    const leaseMs = body.leaseMs ?? undefined;
    const renewed = await locking.renewByToken(
      body.identifier as string,
      body.token as string,
      {
        kind,
        ...(leaseMs === undefined ? {} : {leaseMs: leaseMs as number}),
      },
    );
    if (!renewed) return {status: 409, body: {error: 'not_holder'}};
    return {
      status: 200,
      body: {
        identifier: body.identifier,
        ...(renewed.expiresAt === undefined
          ? {}
          : {expiresAt: renewed.expiresAt.toISOString()}),
      },
    };
  });
}

export const renewLock: HttpFunction = renewLockHandler(defaultLocking);
