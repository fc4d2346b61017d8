import {eventsObserved, publishEvent} from './events-channel';
import {instrumentsOf} from './instruments';
import {eventOf, type Settled, type Subject} from './lock-telemetry';
import {ATTRIBUTES} from './names';
import {otelApi} from './otel-api';

/**
 * lockedHandler's waiting room, counted: parks, wake-ups, dispatches and the time spent parked.
 * Each is a moment, not an operation with a duration of its own (the store calls behind them are
 * timed where they are made), so these are notes rather than spans. Metrics carry the kind and one
 * bounded attribute, never the identifier; events follow the recordIdentifiers rule as all do.
 */

/** What became of a message that found its lock held: parked, or re-queued because the room was full or it too large. */
export type ParkNote = 'parked' | 'full' | 'too_large';

/** Who handed a parked message the lock and published it. */
export type DispatchedBy = 'release' | 'arrival' | 'sweep';

/** A park attempt's outcome; `depth`: the room's messages after it (or, full, before it). */
export function notePark(
  subject: Subject,
  outcome: ParkNote,
  depth?: number,
): void {
  const api = otelApi();
  if (api)
    instrumentsOf(api).parks.add(1, {
      [ATTRIBUTES.kind]: subject.kind,
      [ATTRIBUTES.outcome]: outcome,
    });
  note('park', subject, {outcome, depth});
}

/** A woken message claimed its lock after `parkedMs` parked (its parkedAt to now). */
export function noteWoken(subject: Subject, parkedMs: number): void {
  const waited = Math.max(0, Math.round(parkedMs));
  const api = otelApi();
  if (api) {
    const instruments = instrumentsOf(api);
    const attributes = {[ATTRIBUTES.kind]: subject.kind};
    instruments.wakes.add(1, attributes);
    instruments.parkedTime.record(waited, attributes);
  }
  note('wake', subject, {outcome: 'claimed'}, waited);
}

/** A parked message was handed the lock and published (a sweep notes each record it dispatched). */
export function noteDispatch(subject: Subject, by: DispatchedBy): void {
  const api = otelApi();
  if (api)
    instrumentsOf(api).dispatches.add(1, {
      [ATTRIBUTES.kind]: subject.kind,
      [ATTRIBUTES.dispatchedBy]: by,
    });
  note('dispatch', subject, {outcome: 'dispatched', reason: by});
}

function note(
  type: 'park' | 'wake' | 'dispatch',
  subject: Subject,
  settled: Settled,
  waitedMs?: number,
): void {
  if (eventsObserved()) publishEvent(eventOf(type, subject, settled, waitedMs));
}
