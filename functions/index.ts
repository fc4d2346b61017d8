/**
 * The Cloud Functions entry (`package.json` "main", for `functions-framework --source=.`).
 * Each function is a thin shell over the library in shared/: validate, call, map to a status.
 */
import { cloudEvent, http } from '@google-cloud/functions-framework';
import { acquireLock } from './acquire-lock';
import { cleanupLocks } from './cleanup-locks';
import { exampleWorker } from './example-worker';
import { answerFrameworkErrorsWithJson } from './http/framework-errors';
import { releaseLock } from './release-lock';

answerFrameworkErrorsWithJson();

http('acquireLock', acquireLock);
http('releaseLock', releaseLock);
http('cleanupLocks', cleanupLocks);
cloudEvent('exampleWorker', exampleWorker);

export { acquireLock, cleanupLocks, exampleWorker, releaseLock };
