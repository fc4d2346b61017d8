import type {Datastore, Key} from '@google-cloud/datastore';

/**
 * What the child-process workers of the tests and the reliability run share: reading their
 * configuration from the environment, exiting with the outcome, and the unprotected
 * read-modify-write that only the lock keeps from losing updates.
 */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

/** Runs `main` and exits 0, or prints the error and exits 1. */
export function runAsProcess(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** Reads a counter, pauses `pauseMs`, writes it back plus one: no transaction, on purpose. */
export async function incrementWithoutTransaction(
  datastore: Datastore,
  key: Key,
  pauseMs: number,
): Promise<void> {
  const [entity] = await datastore.get(key);
  await new Promise(resolve => setTimeout(resolve, pauseMs));
  await datastore.save({key, data: {value: Number(entity?.value ?? 0) + 1}});
}
