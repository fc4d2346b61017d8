import type {AcquireOutcome, AcquireRequest} from '../backend';
import type {Takeover} from '../taking-rules';

/**
 * Which acquires won by taking a lock over, noted by the one attempt that did it. The waiting loop
 * above hands back only the lock record; the acquire's request object is the one thing both ends
 * share, so it keys the note (and the note goes with it).
 */
const takeovers = new WeakMap<AcquireRequest, Takeover>();

export function noteTakeover<O extends AcquireOutcome>(
  request: AcquireRequest,
  outcome: O,
): O {
  if (outcome.acquired && outcome.takeover)
    takeovers.set(request, outcome.takeover);
  return outcome;
}

export function takeoverOfRequest(
  request: AcquireRequest,
): Takeover | undefined {
  return takeovers.get(request);
}
