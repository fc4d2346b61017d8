import {invalidArgument} from './invalid-argument';

/** Google's rule for a named database's id (Datastore mode and Firestore native mode alike). */
export const DATABASE_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;

/** The rule in words, for messages. */
export const DATABASE_ID_RULE =
  '4-63 of a-z, 0-9 and "-", starting with a letter, ending with a letter or digit';

/** The default database's own name: it means "no named database". */
export const DEFAULT_DATABASE = '(default)';

export function isDatabaseId(value: unknown): value is string {
  return typeof value === 'string' && DATABASE_ID.test(value);
}

/** A named database's id, or absent. The library refuses `(default)`: leave the option out instead. */
export function databaseIdOption(
  name: string,
  value: unknown,
): string | undefined {
  if (value === undefined) return undefined;
  if (!isDatabaseId(value))
    throw invalidArgument(
      `${name} must be a database id (${DATABASE_ID_RULE}), got ${JSON.stringify(value)}`,
    );
  return value;
}
