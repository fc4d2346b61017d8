import type {BackoffPolicy} from '../core/backoff';
import {durationOption, positiveDuration} from './durations';
import {invalidArgument, describeValue} from './invalid-argument';
import {onlyKnownFields} from './known-fields';
import {objectOption} from './plain-values';

const POLICY_FIELDS = ['initialMs', 'maxMs', 'multiplier'] as const;

/**
 * The one rule for every backoff policy (the waiters', the retries', lockedHandler's re-queues):
 * given fields over `defaults`; initialMs and maxMs above 0 (a 0 step would poll or re-queue in a
 * tight loop), multiplier from 1 (below it the delays shrink), every field a bounded number, and
 * no field it does not know (a misspelt `initialMS` would otherwise be ignored). maxMs below
 * initialMs is raised to it: the ceiling never falls under the first step.
 * `extraFields` are the caller's own fields in the same object (retry's `maxAttempts`), checked by it.
 */
export function backoffPolicyOption(
  name: string,
  value: unknown,
  defaults: BackoffPolicy,
  extraFields: readonly string[] = [],
): BackoffPolicy {
  if (value === undefined) return defaults;
  objectOption(name, value);
  onlyKnownFields(name, value, [...POLICY_FIELDS, ...extraFields], 'setting');
  const given = value as Partial<
    Record<(typeof POLICY_FIELDS)[number], unknown>
  >;
  const initialMs = positiveDuration(
    `${name}.initialMs`,
    field(given.initialMs, defaults.initialMs),
  );
  const maxMs = positiveDuration(
    `${name}.maxMs`,
    field(given.maxMs, defaults.maxMs),
  );
  const multiplier = durationOption(
    `${name}.multiplier`,
    field(given.multiplier, defaults.multiplier),
  ) as number;
  if (multiplier < 1)
    throw invalidArgument(
      `${name}.multiplier must be >= 1, got ${describeValue(multiplier)}`,
    );
  return {initialMs, maxMs: Math.max(initialMs, maxMs), multiplier};
}

/** A field left out takes its default; `null` is a value, and refused as one. */
function field(value: unknown, fallback: number): unknown {
  return value === undefined ? fallback : value;
}
