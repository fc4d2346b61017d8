import type {StrongStore} from '../../shared';

/**
 * The LOCKS_* settings a client (the CLI, a script) must share with the stack's functions to see
 * the same locks: which STRONG store, which database of it, and the cleanup's age limit.
 */
const SHARED_SETTINGS = [
  'LOCKS_DATASTORE_DATABASE',
  'LOCKS_FIRESTORE_DATABASE',
  'LOCKS_CLEANUP_MAX_AGE_MS',
] as const;

/**
 * What `npm start` tells a client to export: the emulators' addresses, plus the STRONG store the
 * functions use (without LOCKS_STRONG_STORE a client reads Datastore mode, so with
 * `--strong-store firestore` the CLI saw no locks) and whichever shared settings the stack was given.
 */
export function clientEnvironment(
  emulators: Readonly<Record<string, string>>,
  strongStore: StrongStore,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const shared: Record<string, string> = {};
  for (const name of SHARED_SETTINGS) {
    const value = env[name];
    if (value) shared[name] = value;
  }
  return {...emulators, LOCKS_STRONG_STORE: strongStore, ...shared};
}

/** `NAME=value`, the value single-quoted when a shell would split or expand it. */
export function shellAssignment(name: string, value: string): string {
  return /^[\w./:,@+-]+$/.test(value)
    ? `${name}=${value}`
    : `${name}='${value.replace(/'/g, "'\\''")}'`;
}
