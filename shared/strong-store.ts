/** Which store STRONG locks live on, and the id of a named database there. */
export type StrongStore = 'datastore' | 'firestore';
export const STRONG_STORES: readonly StrongStore[] = ['datastore', 'firestore'];

export function isStrongStore(value: unknown): value is StrongStore {
  return (STRONG_STORES as readonly unknown[]).includes(value);
}

/** Google's rule for a named database's id. */
export const DATABASE_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;
