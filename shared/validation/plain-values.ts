import {invalidArgument, typeOf} from './invalid-argument';

/** An options or config argument: a plain object (absent counts as `{}` at the call site). */
export function objectOption(
  what: string,
  value: unknown,
): asserts value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument(`${what} must be an object, got ${typeOf(value)}`);
}

/** A boolean, or `fallback` when absent (`null` included, as the library has always read a switch). */
export function booleanOption(
  name: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean')
    throw invalidArgument(`${name} must be a boolean, got ${typeOf(value)}`);
  return value;
}

/** A string (empty allowed), or absent. */
export function stringOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw invalidArgument(`${name} must be a string, got ${typeOf(value)}`);
  return value;
}
