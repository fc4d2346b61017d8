import {describeValue, invalidArgument} from './invalid-argument';

/** A count (attempts, a limit): a whole number from `min`, or `fallback` when absent. */
export function wholeNumberOption(
  name: string,
  value: unknown,
  min: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min)
    throw invalidArgument(
      `${name} must be a whole number >= ${min}, got ${describeValue(value)}`,
    );
  return value as number;
}
