/**
 * What this repository's own functions (functions/) and tools (infra/) use beyond the public API
 * (shared/index.ts): the rules that read their settings and flags, and the library's default
 * instance. Not for library users: it may change in any release. A lint rule keeps functions/ and
 * infra/ to these two entries (eslint.config.js), so the library's inside can move freely.
 */
import {currentRuntime} from './configuration/config';
import {peekParkedIn, type PeekedParked} from './operations/peek';

export {defaultLocking} from './locking';
export {resolveLockOptions} from './configuration/options';
export {identifierHashOf} from './telemetry/identifier-hash';
export {FUNCTION_TIMEOUT_MS} from './pubsub/function-timeout';
export type {PeekedParked} from './operations/peek';
export {isLockKind} from './core/kinds';
export {isStrongStore, STRONG_STORES} from './configuration/strong-store';
export {
  DATABASE_ID_RULE,
  DEFAULT_DATABASE,
  DURATION_TEXT_RULE,
  envChoice,
  envValkeyUrl,
  envValkeyCa,
  envValkeyAuth,
  parseValkeyCa,
  valkeyConnection,
  envDatabaseId,
  envWholeNumber,
  GOOGLE_CLOUD_NAMES,
  isDatabaseId,
  isGoogleCloudName,
  isInvalidArgument,
  isMemcacheServerList,
  isPortNumber,
  MEMCACHE_SERVERS_RULE,
  onlyKnownFields,
  parseDurationText,
  typeOf,
  type GoogleCloudName,
} from './validation';

/** What lockedHandler parked on a STRONG lock, for operators' tools: the default instance's. */
export const peekParked = (
  identifier: string,
  limit: number,
): Promise<PeekedParked[] | undefined> =>
  peekParkedIn(currentRuntime, identifier, limit);
