import {describeValue, invalidArgument} from './invalid-argument';

/**
 * The longest duration accepted, about 31 years: anything longer means "never" (leave the option
 * out), and would push a stored expiry past what a Date or a Datastore timestamp can hold.
 */
export const MAX_DURATION_MS = 1e12;

/** The shortest lease: renewals every ~33 ms would cost more than the lock is worth. */
export const MIN_LEASE_MS = 100;

/** A duration in milliseconds: a finite number from 0 to MAX_DURATION_MS, or absent. */
export function durationOption(
  name: string,
  value: unknown,
): number | undefined {
  return boundedMs(name, value, 0);
}

/** A lease in milliseconds: from MIN_LEASE_MS to MAX_DURATION_MS, or absent. */
export function leaseOption(
  value: unknown,
  name = 'leaseMs',
): number | undefined {
  return boundedMs(name, value, MIN_LEASE_MS);
}

/** A duration that must be given (a default already applied) and above 0: a timeout, a backoff step. */
export function positiveDuration(name: string, value: unknown): number {
  const ms = boundedMs(name, value, 0);
  if (ms === undefined || ms <= 0)
    throw invalidArgument(`${name} must be > 0, got ${describeValue(value)}`);
  return ms;
}

function boundedMs(
  name: string,
  value: unknown,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > MAX_DURATION_MS
  ) {
    throw invalidArgument(
      `${name} must be a number of milliseconds from ${min} to ${MAX_DURATION_MS}, got ${describeValue(value)}`,
    );
  }
  return value;
}
