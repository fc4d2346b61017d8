import type {StrongStore} from '../../shared';
import {isStrongStore, STRONG_STORES} from '../../shared/internal';

/**
 * The STRONG store of the local stack: `npm start -- --strong-store firestore`, or LOCKS_STRONG_STORE
 * as the deployed functions read it; `datastore` when neither is given. Both emulators run either
 * way, so switching needs only a restart.
 */
export function localStrongStore(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): StrongStore {
  const fromEnv = env.LOCKS_STRONG_STORE || undefined;
  if (flag !== undefined && !isStrongStore(flag)) {
    throw new Error(
      `--strong-store must be one of ${STRONG_STORES.join(', ')}, got ${JSON.stringify(flag)}`,
    );
  }
  if (flag !== undefined && fromEnv !== undefined && flag !== fromEnv) {
    throw new Error(
      `--strong-store ${flag} contradicts LOCKS_STRONG_STORE=${fromEnv} in the environment: give one of them`,
    );
  }
  // An unknown LOCKS_STRONG_STORE is refused by the functions' own settings check, naming the variable.
  return (flag ?? fromEnv ?? 'datastore') as StrongStore;
}
