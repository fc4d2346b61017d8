import {retrying} from '../core/attempts';
import type {RetryPolicy} from '../core/backoff';
import {BackendCallError} from '../core/errors';
import {oneAtATime} from './one-at-a-time';
import type {
  ClaimOutcome,
  ClaimRequest,
  HandOffOutcome,
  HandOffRequest,
  ParkOutcome,
  ParkRequest,
  WaitingRoomStore,
} from './types';

/**
 * Contention is the waiting room's normal weather: a burst of messages on one key parks on one lock
 * entity or document at once, and the holder's hand-off commits among them. Each try is short and
 * a burst ends, so contention is retried far longer than other failures: a hand-off that gave up
 * would leave its lock held by a holder that has finished, with everyone parked behind it.
 */
const CONTENTION_ATTEMPTS = 40;
const CONTENTION_BACKOFF = {initialMs: 10, maxMs: 150};

/** How many store tries one waiting-room call took (1 without contention): for diagnostics. */
export interface RoomTries {
  tries: number;
}

function inRoom<T>(
  policy: RetryPolicy,
  call: () => Promise<T>,
  counted?: RoomTries,
): Promise<T> {
  // Short pauses: the other party's transaction is a few milliseconds long.
  const quick = {
    ...policy,
    initialMs: Math.min(policy.initialMs, CONTENTION_BACKOFF.initialMs),
    maxMs: Math.min(policy.maxMs, CONTENTION_BACKOFF.maxMs),
  };
  const counting = counted
    ? () => {
        counted.tries++;
        return call();
      }
    : call;
  return retrying(quick, counting, undefined, error =>
    error instanceof BackendCallError && error.contention
      ? Math.max(policy.maxAttempts, CONTENTION_ATTEMPTS)
      : policy.maxAttempts,
  );
}

/**
 * The waiting room's store calls under the one retry rule (attempts.ts). Each is safe to repeat:
 * a hand-off and a claim recognise their own token when an earlier try landed unseen. A park
 * repeated after such a try may park the message twice; a message run twice is what Pub/Sub's
 * at-least-once delivery already asks handlers to absorb (the once-keys of fenced writes).
 */
export function attemptPark(
  room: WaitingRoomStore,
  request: ParkRequest,
  policy: RetryPolicy,
  counted?: RoomTries,
): Promise<ParkOutcome> {
  return oneAtATime(room, request.identifier, () =>
    inRoom(policy, () => room.park(request), counted),
  );
}

/**
 * After a try whose commit may have landed, a later try that finds the lock not ours asks whether
 * it is gone (`lockGone`): then the earlier delete did land, and the release happened.
 */
export async function attemptHandOff(
  room: WaitingRoomStore,
  request: HandOffRequest,
  policy: RetryPolicy,
  lockGone: () => Promise<boolean>,
  counted?: RoomTries,
): Promise<HandOffOutcome> {
  let mayHaveApplied = false;
  const outcome = await oneAtATime(room, request.identifier, () =>
    inRoom(
      policy,
      async () => {
        try {
          return await room.handOff(request);
        } catch (error) {
          if (error instanceof BackendCallError && error.mayHaveApplied)
            mayHaveApplied = true;
          throw error;
        }
      },
      counted,
    ),
  );
  if (!outcome.released && mayHaveApplied && (await lockGone()))
    return {released: true};
  return outcome;
}

export function attemptClaim(
  room: WaitingRoomStore,
  request: ClaimRequest,
  policy: RetryPolicy,
  counted?: RoomTries,
): Promise<ClaimOutcome> {
  return oneAtATime(room, request.identifier, () =>
    inRoom(policy, () => room.claim(request), counted),
  );
}
