import {DATABASE_ID_RULE, DEFAULT_DATABASE, isDatabaseId} from './database-id';
import {invalidArgument} from './invalid-argument';
import {isValkeyUrl, VALKEY_URL_RULE} from './valkey-url';

/**
 * Environment variables as settings read them: unset and empty are the same (a deploy tool may
 * blank a variable rather than remove it). Each throws an INVALID_ARGUMENT LockError naming the
 * variable and its value; a caller with an error type of its own converts it.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A whole number >= 0, or `fallback` when unset. */
export function envWholeNumber(
  env: Environment,
  name: string,
  fallback: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalidArgument(
      `${name} must be a whole number >= 0, got ${JSON.stringify(raw)}`,
    );
  return value;
}

/** A named database's id; unset or `(default)` (the default database's own name) is `undefined`. */
export function envDatabaseId(
  env: Environment,
  name: string,
): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === DEFAULT_DATABASE)
    return undefined;
  if (!isDatabaseId(raw))
    throw invalidArgument(
      `${name} must be a database id (${DATABASE_ID_RULE}), got ${JSON.stringify(raw)}`,
    );
  return raw;
}

/** One of `choices`, or `fallback` when unset. */
export function envChoice<T extends string>(
  env: Environment,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw))
    throw invalidArgument(
      `${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  return raw as T;
}

/**
 * LOCKS_VALKEY_URL: a `redis://` or `rediss://` URL, or `undefined` when unset. The error names the
 * variable but never echoes the value, which may carry a password.
 */
export function envValkeyUrl(
  env: Environment,
  name: string,
): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!isValkeyUrl(raw))
    throw invalidArgument(
      `${name} must be ${VALKEY_URL_RULE} (the value is not shown: it may hold a password)`,
    );
  return raw;
}
