import {LockError} from '../core/errors';

/** The error every rule in this module throws: the caller gets a LockError it can branch on, naming the problem. */
export function invalidArgument(message: string): LockError {
  return new LockError('INVALID_ARGUMENT', message);
}

export function isInvalidArgument(error: unknown): error is LockError {
  return error instanceof LockError && error.code === 'INVALID_ARGUMENT';
}

/** What a wrong value was, for a message: `null` and `array` are told apart from `object`. */
export function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A number as itself, anything else by its type (a message never echoes an arbitrary object). */
export function describeValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeOf(value);
}
