/**
 * The Cloud Functions entry (`package.json` "main", for `functions-framework --source=.`).
 * Each function is a thin shell over the library in shared/: validate, call, map to a status.
 */
import {cloudEvent, http} from '@google-cloud/functions-framework';
import {configureLocking} from '../shared';
import {acquireLock} from './acquire-lock';
import {cleanupLocks} from './cleanup-locks';
import {cloudLoggingLogger} from './cloud-logging';
import {exampleWorker} from './example-worker';
import {answerFrameworkErrorsWithJson} from './http/framework-errors';
import {releaseLock} from './release-lock';
import {renewLock} from './renew-lock';
import {locksPage} from './locks-page';
import {functionSettings, strongStoreConfig} from './settings';

// Read and checked once, at cold start: a bad LOCKS_* value stops the instance from loading, with
// a message naming it, instead of failing every request.
const settings = functionSettings();
// Only the store and its database are chosen here; the client is still built on the first STRONG call.
// The library's own log lines (lockedHandler, forceRelease) go to Cloud Logging.
configureLocking({
  ...strongStoreConfig(settings),
  logger: cloudLoggingLogger,
});

answerFrameworkErrorsWithJson();

http('acquireLock', acquireLock);
http('releaseLock', releaseLock);
http('renewLock', renewLock);
http('cleanupLocks', cleanupLocks);
cloudEvent('exampleWorker', exampleWorker);
http('locksPage', locksPage);

export {
  acquireLock,
  cleanupLocks,
  exampleWorker,
  locksPage,
  releaseLock,
  renewLock,
};
