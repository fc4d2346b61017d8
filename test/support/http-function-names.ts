import {FUNCTIONS} from '../../infra/topology';

/** The HTTP functions' names (acquireLock, releaseLock, renewLock, cleanupLocks), from the topology. */
export const HTTP_FUNCTION_NAMES: readonly string[] = FUNCTIONS.filter(
  ({trigger}) => trigger.kind === 'http',
).map(({name}) => name);
