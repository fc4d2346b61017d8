import {retrying} from '../attempts';
import type {RetryPolicy} from '../backoff';
import {BackendCallError} from '../errors';
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
 * The waiting room's store calls under the one retry rule (attempts.ts). Each is safe to repeat:
 * a hand-off and a claim recognise their own token when an earlier try landed unseen. A park
 * repeated after such a try may park the message twice; a message run twice is what Pub/Sub's
 * at-least-once delivery already asks handlers to absorb (the once-keys of fenced writes).
 */
export function attemptPark(
  room: WaitingRoomStore,
  request: ParkRequest,
  policy: RetryPolicy,
): Promise<ParkOutcome> {
  return retrying(policy, () => room.park(request));
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
): Promise<HandOffOutcome> {
  let mayHaveApplied = false;
  const outcome = await retrying(policy, async () => {
    try {
      return await room.handOff(request);
    } catch (error) {
      if (error instanceof BackendCallError && error.mayHaveApplied)
        mayHaveApplied = true;
      throw error;
    }
  });
  if (!outcome.released && mayHaveApplied && (await lockGone()))
    return {released: true};
  return outcome;
}

export function attemptClaim(
  room: WaitingRoomStore,
  request: ClaimRequest,
  policy: RetryPolicy,
): Promise<ClaimOutcome> {
  return retrying(policy, () => room.claim(request));
}
