import type {StrongStore} from '../../shared';
import {envWholeNumber, isInvalidArgument} from '../../shared/internal';
import {
  asksForHelp,
  CommandLineError,
  HelpRequested,
  readCommandLine,
  type OptionSpecs,
} from '../cli/command-line';
import {DEFAULT_FIREBASE_JSON} from '../firebase-config';
import {localStrongStore} from './strong-store';

/** `npm start`'s input: its command line and its environment, checked before anything starts. */
export interface StartOptions {
  /** firebase.json to read the ports from (`--config PATH`). */
  readonly configPath: string;
  /** `--strong-store`, else LOCKS_STRONG_STORE, else `datastore`. */
  readonly strongStore: StrongStore;
  /** `--weak-store`: where the functions' WEAK locks live, `memcached` (default) or `valkey` (the stack's own server). */
  readonly weakStore: 'memcached' | 'valkey';
  /** LOCAL_CLEANUP_EVERY_SECONDS: run cleanupLocks this often (for demos); `undefined`: on the deployed schedule. */
  readonly cleanupEverySeconds: number | undefined;
}

/** The first line of the usage; a bad command line's error ends with it. */
const START_SYNOPSIS =
  'usage: npm start [-- [--config FILE] [--strong-store datastore|firestore] [--weak-store memcached|valkey]]';

export const START_USAGE = `${START_SYNOPSIS}

Runs the whole system on 127.0.0.1 on the emulators (Firestore in Datastore mode and in native
mode, Pub/Sub, memcached and a Valkey-protocol server when installed) and the functions; prints a ready line with the
variables a client (the CLI) needs. Ctrl-C stops it all.

  --config FILE                        read the ports from FILE's "emulators" section (default firebase.json)
  --strong-store datastore|firestore   the store of the functions' STRONG locks (default: LOCKS_STRONG_STORE, else datastore)
  --weak-store memcached|valkey        the store of the functions' WEAK locks (default memcached); valkey exports LOCKS_VALKEY_URL
  -h, --help                           print this and exit

Environment: LOCKS_STRONG_STORE (as --strong-store); LOCAL_CLEANUP_EVERY_SECONDS=N runs cleanupLocks
every N seconds (for demos) instead of on the deployed schedule; other LOCKS_* settings reach the
functions as in the cloud.`;

/** Every flag `npm start` takes (and --help, which asksForHelp reads first). */
export const START_OPTIONS = {
  config: {type: 'string'},
  'strong-store': {type: 'string'},
  'weak-store': {type: 'string'},
} as const satisfies OptionSpecs;

/**
 * Throws an Error naming the bad argument or variable (npm start prints it and exits 1), or
 * HelpRequested for `--help` (it prints the usage and exits 0).
 */
export function parseStartOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): StartOptions {
  if (asksForHelp(argv)) throw new HelpRequested(START_USAGE);
  let line;
  try {
    line = readCommandLine(argv, START_OPTIONS);
  } catch (error) {
    if (error instanceof CommandLineError)
      throw new Error(
        `${error.message}; ${START_SYNOPSIS} (npm start -- --help says more)`,
      );
    throw error;
  }
  const [positional] = line.positionals;
  if (positional !== undefined)
    throw new Error(
      `unexpected argument ${JSON.stringify(positional)}; ${START_SYNOPSIS} (npm start -- --help says more)`,
    );
  const text = (name: string): string | undefined =>
    line.values[name] as string | undefined;
  let cleanupEverySeconds;
  try {
    cleanupEverySeconds = envWholeNumber(env, 'LOCAL_CLEANUP_EVERY_SECONDS', 0);
  } catch (error) {
    if (isInvalidArgument(error)) throw new Error(error.message);
    throw error;
  }
  return {
    configPath: text('config') ?? DEFAULT_FIREBASE_JSON,
    strongStore: localStrongStore(text('strong-store'), env),
    weakStore: weakStoreOf(text('weak-store')),
    cleanupEverySeconds:
      cleanupEverySeconds > 0 ? cleanupEverySeconds : undefined,
  };
}

function weakStoreOf(flag: string | undefined): 'memcached' | 'valkey' {
  if (flag === undefined || flag === 'memcached' || flag === 'valkey')
    return flag ?? 'memcached';
  throw new Error(
    `--weak-store must be one of memcached, valkey, got ${JSON.stringify(flag)}`,
  );
}
