import {Datastore} from '@google-cloud/datastore';
import {
  ACCOUNT_KIND,
  APPLIED_EVENT_KIND,
  DUPLICATE_KIND,
  type AccountLedger,
} from './ledger';

/** The ledger as entities, in the Datastore-mode database of the locks (the default one may be in native mode). */
export function datastoreLedger(databaseId: string | undefined): AccountLedger {
  const db = new Datastore(databaseId === undefined ? {} : {databaseId});
  return {
    async isApplied(eventId) {
      const [applied] = await db.get(db.key([APPLIED_EVENT_KIND, eventId]));
      return applied !== undefined;
    },
    async recordDuplicate(eventId) {
      await db.save({
        key: db.key([DUPLICATE_KIND]),
        data: {eventId, at: new Date()},
      });
    },
    async balance(account) {
      const [current] = await db.get(db.key([ACCOUNT_KIND, account]));
      return Number(current?.balance ?? 0);
    },
    async apply({account, amount, eventId}, balance) {
      await db.save([
        {key: db.key([ACCOUNT_KIND, account]), data: {balance}},
        {
          key: db.key([APPLIED_EVENT_KIND, eventId]),
          method: 'insert',
          data: {account, amount, appliedAt: new Date()},
        },
      ]);
    },
  };
}
