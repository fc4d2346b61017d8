import {Datastore} from '@google-cloud/datastore';
import {STRONG_EMULATOR_VARIABLES, type CliEnvironment} from './environment';
import {CliError, EXIT} from './exit-codes';

/** What Google's auth library says when Application Default Credentials finds nothing. */
const NO_CREDENTIALS = /Could not load the default credentials/;

/** Whether a failure (or one of its causes) is Google's "no credentials found". */
export function isMissingCredentials(text: string): boolean {
  return NO_CREDENTIALS.test(text);
}

/** The one line the CLI prints for it: what is missing, and the two ways to provide it. */
export function missingCredentials(environment: CliEnvironment): CliError {
  const variable = STRONG_EMULATOR_VARIABLES[environment.strongStore];
  return new CliError(
    EXIT.configuration,
    `no Google Cloud credentials to reach ${environment.strongTarget}: for the local stack set ${variable} (npm start's ready line prints it), for a project run \`gcloud auth application-default login\` (or set GOOGLE_APPLICATION_CREDENTIALS to a key file)`,
  );
}

/**
 * Finds the credentials the STRONG store's client would use, before its first call: without them
 * the clients print Google's error twice and the Firestore client crashes the process on an
 * unhandled rejection. Both stores' clients find credentials the same way (Application Default
 * Credentials), so the Datastore client's finder answers for either; building it calls nothing.
 * An emulator needs none.
 */
export async function assertCredentials(
  environment: CliEnvironment,
  env: NodeJS.ProcessEnv,
  findCredentials: () => Promise<unknown> = () =>
    new Datastore().auth.getClient(),
): Promise<void> {
  if (env[STRONG_EMULATOR_VARIABLES[environment.strongStore]]) return;
  try {
    await findCredentials();
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    if (isMissingCredentials(message)) throw missingCredentials(environment);
    // A key file that cannot be read, a malformed one: the environment's fault too.
    throw new CliError(
      EXIT.configuration,
      `cannot load Google Cloud credentials: ${message.split('\n')[0]}`,
    );
  }
}
