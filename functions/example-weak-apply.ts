import {setTimeout as sleep} from 'node:timers/promises';
import type {Datastore} from '@google-cloud/datastore';
import {log} from './log';
import {functionSettings} from './settings';

/** An account's balance: `[ACCOUNT_KIND, account]`, a Datastore entity or a Firestore document (WEAK mode: Datastore only). */
export const ACCOUNT_KIND = 'ExampleAccount';
/** The example worker's WEAK mode: an applied event, written in the balance's commit. */
export const APPLIED_EVENT_KIND = 'ExampleAppliedEvent';

let datastore: Promise<Datastore> | undefined;

/** Loaded on the first WEAK event only: the STRONG mode writes through the library's own client. */
function plainDatastore(): Promise<Datastore> {
  datastore ??= import('@google-cloud/datastore').then(({Datastore}) => {
    const {datastoreDatabase} = functionSettings();
    return new Datastore(
      datastoreDatabase === undefined ? {} : {databaseId: datastoreDatabase},
    );
  });
  return datastore;
}

/**
 * The example worker's WEAK mode (EXAMPLE_WORKER_KIND=WEAK): a WEAK grant has no fence, so nothing
 * can refuse a late write, and the balance is read, then written plainly after the work
 * (EXAMPLE_WORKER_WORK_MS). Only the lock keeps two invocations of one account from both reading
 * the old balance: it does while its store keeps its data and no holder outlives its lease (a
 * restarted Valkey or memcached, or a paused holder, can let an update be lost). The event id is
 * inserted in the balance's commit: a redelivered event applies nothing, and two deliveries of
 * one event that overlap cannot both commit (the second insert fails, and Pub/Sub redelivers).
 * Datastore mode only (LOCKS_STRONG_STORE=datastore).
 */
export async function applyUnfenced(
  account: string,
  amount: number,
  eventId: string,
): Promise<void> {
  const db = await plainDatastore();
  const balanceKey = db.key([ACCOUNT_KIND, account]);
  const appliedKey = db.key([APPLIED_EVENT_KIND, eventId]);
  const [[applied], [current]] = await Promise.all([
    db.get(appliedKey),
    db.get(balanceKey),
  ]);
  if (applied) {
    log('WARNING', 'exampleWorker: event delivered again, not applied twice', {
      eventId,
    });
    return;
  }
  const pauseMs = Number(process.env.EXAMPLE_WORKER_WORK_MS ?? 0);
  if (pauseMs > 0) await sleep(pauseMs);
  await db.save([
    {
      key: balanceKey,
      data: {balance: Number(current?.balance ?? 0) + amount},
    },
    {key: appliedKey, method: 'insert', data: {account, amount}},
  ]);
}
