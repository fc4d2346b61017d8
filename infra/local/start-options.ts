import type {StrongStore} from '../../shared/strong-store';
import {envWholeNumber, isInvalidArgument} from '../../shared/validation';
import {CommandLineError, readCommandLine} from '../cli/command-line';
import {DEFAULT_FIREBASE_JSON} from '../firebase-config';
import {localStrongStore} from './strong-store';

/** `npm start`'s input: its command line and its environment, checked before anything starts. */
export interface StartOptions {
  /** firebase.json to read the ports from (`--config PATH`). */
  readonly configPath: string;
  /** `--strong-store`, else LOCKS_STRONG_STORE, else `datastore`. */
  readonly strongStore: StrongStore;
  /** LOCAL_CLEANUP_EVERY_SECONDS: run cleanupLocks this often (for demos); `undefined`: on the deployed schedule. */
  readonly cleanupEverySeconds: number | undefined;
}

export const START_USAGE =
  'usage: npm start [-- --config firebase.json] [--strong-store datastore|firestore]';

/** Throws an Error naming the bad argument or variable (npm start prints it and exits 1). */
export function parseStartOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): StartOptions {
  let line;
  try {
    line = readCommandLine(argv, {
      config: {type: 'string'},
      'strong-store': {type: 'string'},
    });
  } catch (error) {
    if (error instanceof CommandLineError)
      throw new Error(`${error.message}; ${START_USAGE}`);
    throw error;
  }
  const [positional] = line.positionals;
  if (positional !== undefined)
    throw new Error(
      `unexpected argument ${JSON.stringify(positional)}; ${START_USAGE}`,
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
    cleanupEverySeconds:
      cleanupEverySeconds > 0 ? cleanupEverySeconds : undefined,
  };
}
