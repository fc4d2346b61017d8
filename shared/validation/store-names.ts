import {invalidArgument} from './invalid-argument';
import {stringOption} from './plain-values';

/** A Datastore kind (a Firestore collection): `__` starts the store's own reserved kinds. */
export function entityKindOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.startsWith('__'))
    throw invalidArgument(
      `${name} must be a non-empty string not starting with "__"`,
    );
  return value;
}

/** A Datastore namespace, or absent (the client's own, else the default one). */
export function namespaceOption(
  name: string,
  value: unknown,
): string | undefined {
  return stringOption(name, value);
}
