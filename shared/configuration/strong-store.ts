/** Which store STRONG locks live on. */
export type StrongStore = 'datastore' | 'firestore';
export const STRONG_STORES: readonly StrongStore[] = ['datastore', 'firestore'];

export function isStrongStore(value: unknown): value is StrongStore {
  return (STRONG_STORES as readonly unknown[]).includes(value);
}
