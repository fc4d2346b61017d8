import {setTimeout as sleep} from 'node:timers/promises';
import {Datastore} from '@google-cloud/datastore';
import {cloudEvent} from '@google-cloud/functions-framework';
import {
  ACCOUNT_KIND,
  accountEventOf,
  exampleWorkerOptions,
} from '../../functions/example-worker';
import {cloudLoggingLogger} from '../../functions/cloud-logging';
import {configureLocking} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';

// As functions/index.ts does for the example: lockedHandler's lines (`outcome`) reach the output.
configureLocking({logger: cloudLoggingLogger});

/** Where the control worker records an applied event by hand, beside the balance. */
export const CONTROL_APPLIED_KIND = 'ControlAppliedEvent';

let db: Datastore | undefined;

/**
 * The NEMESIS CONTROL, never an example: the example worker's lock settings with the old
 * check-then-write: read the balance, check the signal, work (EXAMPLE_WORKER_WORK_MS), then a plain
 * save. A pause between the check and the save (a GC pause, a throttled CPU, SIGSTOP) lets a
 * superseded instance overwrite the next holder's balance: the lost update the fenced write
 * prevents, which the nemesis checker must catch. Datastore only (DATASTORE_EMULATOR_HOST).
 * Served with `functions-framework --source=dist/test/support/worker-check-then-write.js`.
 */
export const checkThenWriteWorker = lockedHandler(
  exampleWorkerOptions,
  async (event, held) => {
    const {account, amount, eventId} = accountEventOf(event);
    db ??= new Datastore();
    const applied = db.key([CONTROL_APPLIED_KIND, eventId]);
    const [[seen], [current]] = await Promise.all([
      db.get(applied),
      db.get(db.key([ACCOUNT_KIND, account])),
    ]);
    if (seen) return;
    held.signal.throwIfAborted();
    await sleep(Number(process.env.EXAMPLE_WORKER_WORK_MS ?? 0));
    await db.save([
      {
        key: db.key([ACCOUNT_KIND, account]),
        data: {balance: Number(current?.balance ?? 0) + amount},
      },
      {key: applied, method: 'insert', data: {account, amount}},
    ]);
  },
);

cloudEvent('checkThenWriteWorker', checkThenWriteWorker);
