import {setTimeout as sleep} from 'node:timers/promises';
import type {CloudEvent} from '@google-cloud/functions-framework';
import {
  lockedHandler,
  type LockedHandlerOptions,
  type PubSubCloudEvent,
} from '../shared';
import {log} from './log';
// Names only (no imports of its own): the retry topic `npm start` and `npm run deploy` create.
import {RETRY_TOPIC} from '../infra/topology';
import {accountLedger} from './example-ledger/ledger';

export {
  ACCOUNT_KIND,
  APPLIED_EVENT_KIND,
  DUPLICATE_KIND,
} from './example-ledger/ledger';

/**
 * An example Pub/Sub worker built with lockedHandler: it applies account events, one at a time per
 * account, on however many instances Cloud Functions runs.
 *
 * Message data: JSON `{"account": "alice", "amount": 5, "eventId": "e-1"}`. Under the lock of the
 * account it reads the balance, adds the amount and writes it back, with no transaction: only the
 * lock keeps two instances from losing each other's update. The event id is recorded with the new
 * balance, in the same commit, so a redelivered event is noticed and not applied twice. The data
 * lives in the STRONG store of the locks (functions/example-ledger/).
 *
 * The lock has a lease (30 s), renewed while the handler runs: an instance that crashes holding an
 * account's lock delays that account's events by at most the lease. Before its write the worker
 * checks that the lock is still its own (`held.signal`); if not, it throws, and Pub/Sub redelivers.
 *
 * Environment: EXAMPLE_RETRY_TOPIC (default `example-work-retry` in the function's project: the
 * worker's own topic for re-queued messages, pushed back to it alone), EXAMPLE_DEAD_LETTER_TOPIC
 * (optional), EXAMPLE_WORKER_WORK_MS (a pause inside the lock, to make contention visible; default 0),
 * EXAMPLE_WORKER_LEASE_MS (the lease; default 30,000), EXAMPLE_WORKER_DEADLINE_MS (when renewals stop,
 * as the function's timeout; default lockedHandler's, 60,000).
 */
export interface AccountEvent {
  readonly account: string;
  readonly amount: number;
  readonly eventId: string;
}

export function accountEventOf(event: PubSubCloudEvent): AccountEvent {
  const text = Buffer.from(event.data?.message?.data ?? '', 'base64').toString(
    'utf8',
  );
  const parsed = JSON.parse(text) as Partial<AccountEvent>;
  if (
    typeof parsed.account !== 'string' ||
    typeof parsed.amount !== 'number' ||
    typeof parsed.eventId !== 'string'
  ) {
    throw new Error(`not an account event: ${text.slice(0, 200)}`);
  }
  return parsed as AccountEvent;
}

type AccountCloudEvent = CloudEvent<NonNullable<PubSubCloudEvent['data']>>;

/** The worker's lock settings, read from the environment when this module loads. */
export const exampleWorkerOptions: LockedHandlerOptions<AccountCloudEvent> = {
  identifier: event => `account:${accountEventOf(event).account}`,
  waitBudgetMs: 250,
  backoff: {initialMs: 250, maxMs: 4000, multiplier: 2},
  earlyArrivalBudgetMs: 4000,
  maxAttempts: 30,
  // lockedHandler refuses a bad value when this module loads.
  leaseMs: process.env.EXAMPLE_WORKER_LEASE_MS
    ? Number(process.env.EXAMPLE_WORKER_LEASE_MS)
    : 30_000,
  ...(process.env.EXAMPLE_WORKER_DEADLINE_MS
    ? {deadlineMs: Number(process.env.EXAMPLE_WORKER_DEADLINE_MS)}
    : {}),
  retryTopic: process.env.EXAMPLE_RETRY_TOPIC || RETRY_TOPIC,
  ...(process.env.EXAMPLE_DEAD_LETTER_TOPIC
    ? {deadLetterTopic: process.env.EXAMPLE_DEAD_LETTER_TOPIC}
    : {}),
};

export const exampleWorker = lockedHandler<AccountCloudEvent>(
  exampleWorkerOptions,
  async (event, held) => {
    const {account, amount, eventId} = accountEventOf(event);
    const ledger = await accountLedger();
    if (await ledger.isApplied(eventId)) {
      await ledger.recordDuplicate(eventId);
      log(
        'WARNING',
        'exampleWorker: event delivered again, not applied twice',
        {eventId},
      );
      return;
    }
    const balance = await ledger.balance(account);
    const pauseMs = Number(process.env.EXAMPLE_WORKER_WORK_MS ?? 0);
    if (pauseMs > 0) await sleep(pauseMs, undefined, {signal: held.signal});
    // The balance read above is only ours to overwrite while we hold the lock.
    held.signal.throwIfAborted();
    await ledger.apply({account, amount, eventId}, balance + amount);
  },
);
