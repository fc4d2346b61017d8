import type {HttpFunction} from '@google-cloud/functions-framework';
import type {Locking} from '../shared';
import {defaultLocking} from '../shared/internal';
import {jsonEndpoint, type EndpointApi} from './http/json-endpoint';

const CLEANUP_LOCKS: EndpointApi = {
  name: 'cleanupLocks',
  fields: ['maxAgeMs'],
};

/**
 * The Cloud Scheduler target. POST, body {maxAgeMs?} (Content-Type: application/json; may be empty); default LOCKS_CLEANUP_MAX_AGE_MS
 * (10 minutes, as djangae). Deletes STRONG locks older than that or past their steal time, and
 * dispatches the oldest parked message of every stranded waiting room.
 * 200 {deleted: n, dispatched: m} | 400 | 401 | 403 | 405 | 413 | 415 | 503
 */
export function cleanupLocksHandler(locking: Locking): HttpFunction {
  return jsonEndpoint(CLEANUP_LOCKS, async (body, settings) => {
    const maxAgeMs = body.maxAgeMs ?? settings.cleanupMaxAgeMs;
    const {deleted, dispatched} = await locking.cleanupStaleLocks({
      maxAgeMs: maxAgeMs as number,
    });
    return {status: 200, body: {deleted, dispatched}};
  });
}

export const cleanupLocks: HttpFunction = cleanupLocksHandler(defaultLocking);
