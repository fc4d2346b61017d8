import {setTimeout as sleep} from 'node:timers/promises';
import type {CloudEvent} from '@google-cloud/functions-framework';
import {
  lockedHandler,
  type LockedHandlerOptions,
  type PubSubCloudEvent,
} from '../shared/pubsub';
import {LockKind} from '../shared';
import {
  ACCOUNT_KIND,
  APPLIED_EVENT_KIND,
  applyUnfenced,
} from './example-weak-apply';
import {log} from './log';
import {functionSettings} from './settings';
// Names only (no imports of its own): the retry topic `npm start` and `npm run deploy` create.
import {RETRY_TOPIC} from '../infra/topology';

export {ACCOUNT_KIND, APPLIED_EVENT_KIND};
/** A redelivered event, counted (`deliveries`) for the tests and the operator who wonders. */
export const DUPLICATE_KIND = 'ExampleDuplicateDelivery';

/**
 * An example Pub/Sub worker built with lockedHandler: it applies account events, one at a time per
 * account, on however many instances Cloud Functions runs.
 *
 * Message data: JSON `{"account": "alice", "amount": 5, "eventId": "e-1"}`. Under the lock of the
 * account it adds the amount to the balance with the held lock's fenced write: the read, the
 * check and the write are one commit in the STRONG store of the locks, which refuses it
 * (STALE_FENCE) if a later holder of the lock has written the account since. The event id is the
 * write's once-key, recorded in the same commit: a redelivered event applies nothing and is
 * counted as a duplicate.
 *
 * The lock has a lease (30 s), renewed while the handler runs: an instance that crashes holding an
 * account's lock delays that account's events by at most the lease, plus the time until the
 * account's next event or the next cleanup run (every minute, as deployed) hands the lock to the
 * events parked behind it. An instance frozen past its
 * lease (a timed-out request keeps running on Cloud Run) may wake up believing it holds the lock:
 * `held.signal` would tell it, but only when it checks, and a pause can fall between a check and a
 * write. The fence cannot be outrun: the late write fails STALE_FENCE, the invocation fails, and
 * Pub/Sub redelivers the event, to be applied once by the lock's current holder.
 *
 * Environment: EXAMPLE_RETRY_TOPIC (default `example-work-retry` in the function's project: the
 * worker's own topic for re-queued messages, pushed back to it alone), EXAMPLE_DEAD_LETTER_TOPIC
 * (optional), EXAMPLE_WORKER_WORK_MS (a pause inside the lock before the write, to make contention
 * and late writes visible; default 0), EXAMPLE_WORKER_LEASE_MS (the lease; default 30,000),
 * EXAMPLE_WORKER_DEADLINE_MS (when renewals stop, as the function's timeout; default
 * lockedHandler's, 60,000), EXAMPLE_WAITING_ROOM (`off`: re-queue a message whose account is busy,
 * instead of parking it in the lock's waiting room), EXAMPLE_HANDOFF_LEASE_MS (the waiting room's
 * hand-off lease; default lockedHandler's, 30,000), EXAMPLE_DRAIN_BUDGET_MS (how long an invocation
 * that hands its lock on runs the next parked messages itself; `0`: always publish their wake-ups;
 * default lockedHandler's, 10,000), EXAMPLE_WORKER_KIND (`WEAK`: take WEAK account locks, on Valkey
 * when LOCKS_VALKEY_URL is set, else memcached, and apply events with a plain read-then-write; see
 * example-weak-apply.ts; default STRONG).
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

/** EXAMPLE_WORKER_KIND, as given: lockedHandler refuses anything but STRONG or WEAK when this module loads. */
const kind = (process.env.EXAMPLE_WORKER_KIND || LockKind.STRONG) as LockKind;
if (kind === LockKind.WEAK && functionSettings().strongStore !== 'datastore')
  throw new Error(
    'EXAMPLE_WORKER_KIND=WEAK writes its balances in Datastore mode: it needs LOCKS_STRONG_STORE=datastore',
  );

/** The worker's lock settings, read from the environment when this module loads. */
export const exampleWorkerOptions: LockedHandlerOptions<AccountCloudEvent> = {
  identifier: event => `account:${accountEventOf(event).account}`,
  kind,
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
  // `off`: the re-queue with backoff instead of the waiting room (the benchmark's baseline).
  ...(process.env.EXAMPLE_WAITING_ROOM === 'off' ? {waitingRoom: false} : {}),
  ...(process.env.EXAMPLE_HANDOFF_LEASE_MS
    ? {handOffLeaseMs: Number(process.env.EXAMPLE_HANDOFF_LEASE_MS)}
    : {}),
  ...(process.env.EXAMPLE_DRAIN_BUDGET_MS
    ? {drainBudgetMs: Number(process.env.EXAMPLE_DRAIN_BUDGET_MS)}
    : {}),
  ...(process.env.EXAMPLE_DEAD_LETTER_TOPIC
    ? {deadLetterTopic: process.env.EXAMPLE_DEAD_LETTER_TOPIC}
    : {}),
};

export const exampleWorker = lockedHandler<AccountCloudEvent>(
  exampleWorkerOptions,
  async (event, held) => {
    const {account, amount, eventId} = accountEventOf(event);
    if (held.kind === LockKind.WEAK) {
      await applyUnfenced(account, amount, eventId);
      return;
    }
    const pauseMs = Number(process.env.EXAMPLE_WORKER_WORK_MS ?? 0);
    // Work that does not watch held.signal, as most work does not: the fence still keeps it out.
    if (pauseMs > 0) await sleep(pauseMs);
    const result = await held.fencedUpdate(
      [ACCOUNT_KIND, account],
      current => ({balance: Number(current?.balance ?? 0) + amount}),
      {onceKey: eventId},
    );
    if (result.applied) return;
    await held.fencedUpdate([DUPLICATE_KIND, eventId], current => ({
      eventId,
      deliveries: Number(current?.deliveries ?? 1) + 1,
    }));
    log('WARNING', 'exampleWorker: event delivered again, not applied twice', {
      eventId,
    });
  },
);
