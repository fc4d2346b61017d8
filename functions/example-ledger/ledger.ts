import {functionSettings} from '../settings';

/**
 * Where the example worker keeps balances and applied events: the STRONG store the functions use
 * (LOCKS_STRONG_STORE, and its database), so a project needs one database, in one mode. A project
 * whose locks are in Firestore native mode may have no Datastore-mode database at all.
 */
export interface AccountLedger {
  /** Whether this event was applied already (a redelivery). */
  isApplied(eventId: string): Promise<boolean>;
  /** Counts a redelivered event, for the tests and the operator who wonders. */
  recordDuplicate(eventId: string): Promise<void>;
  /** The account's balance; 0 for an account never seen. */
  balance(account: string): Promise<number>;
  /** The new balance and the applied event in one commit, which fails if the event was recorded meanwhile. */
  apply(
    event: {
      readonly account: string;
      readonly amount: number;
      readonly eventId: string;
    },
    balance: number,
  ): Promise<void>;
}

export const ACCOUNT_KIND = 'ExampleAccount';
export const APPLIED_EVENT_KIND = 'ExampleAppliedEvent';
export const DUPLICATE_KIND = 'ExampleDuplicateDelivery';

let ledger: Promise<AccountLedger> | undefined;

/** Built on the first event, not at cold start; the client module is loaded then too. */
export function accountLedger(): Promise<AccountLedger> {
  ledger ??= (async () => {
    const settings = functionSettings();
    if (settings.strongStore === 'firestore')
      return (await import('./firestore-ledger')).firestoreLedger(
        settings.firestoreDatabase,
      );
    return (await import('./datastore-ledger')).datastoreLedger(
      settings.datastoreDatabase,
    );
  })();
  ledger.catch(() => (ledger = undefined));
  return ledger;
}
