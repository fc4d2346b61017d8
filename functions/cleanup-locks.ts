import {defaultLocking, type Locking} from '../shared/locking';
import {jsonEndpoint} from './http/json-endpoint';

/**
 * The Cloud Scheduler target. POST, optional body {maxAgeMs}; default LOCKS_CLEANUP_MAX_AGE_MS
 * (10 minutes, as djangae). Deletes STRONG locks older than that or past their steal time.
 * 200 {deleted: n} | 400 | 401 | 405 | 503
 */
export function cleanupLocksHandler(locking: Locking) {
  return jsonEndpoint('cleanupLocks', async (body, settings) => {
    const maxAgeMs = body.maxAgeMs ?? settings.cleanupMaxAgeMs;
    const {deleted} = await locking.cleanupStaleLocks({
      maxAgeMs: maxAgeMs as number,
    });
    return {status: 200, body: {deleted}};
  });
}

export const cleanupLocks = cleanupLocksHandler(defaultLocking);
