import {LockError, LockKind} from '../../shared';
import {parseCliOptions} from './arguments';
import {cleanup} from './commands/cleanup';
import {list} from './commands/list';
import {release} from './commands/release';
import {show} from './commands/show';
import {watch} from './commands/watch';
import {
  assertCredentials,
  isMissingCredentials,
  missingCredentials,
} from './credentials';
import {configureFromEnvironment, type CliEnvironment} from './environment';
import {CliError, EXIT, type ExitCode} from './exit-codes';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly isTerminal: boolean;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs one command line; every failure becomes one line on stderr and its own exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
): Promise<ExitCode> {
  let environment: CliEnvironment | undefined;
  try {
    const options = parseCliOptions(argv, io.env);
    const {args} = options;
    environment = options.environment;
    configureFromEnvironment(environment, io.env);
    // STRONG locks are on Google's stores (WEAK ones on memcached or Valkey, reached without them).
    if (args.kind === LockKind.STRONG)
      await assertCredentials(environment, io.env);
    switch (args.command) {
      case 'list':
        return await list(args, io.out);
      case 'show':
        return await show(args, io.out);
      case 'release':
        return await release(args, io.out);
      case 'cleanup':
        return await cleanup(args, environment, io.out);
      case 'watch':
        return await watch(args, io.out, io.isTerminal);
    }
  } catch (error) {
    const failure = explain(error, environment, io.env);
    (failure.exitCode === EXIT.ok ? io.out : io.err)(failure.message);
    return failure.exitCode;
  }
}

function explain(
  error: unknown,
  environment: CliEnvironment | undefined,
  env: NodeJS.ProcessEnv,
): CliError {
  if (error instanceof CliError) return error;
  const text = messagesOf(error);
  // Credentials that vanish after the check (a key file removed meanwhile) are told the same way.
  if (environment && isMissingCredentials(text))
    return missingCredentials(environment);
  if (
    /Unable to detect a Project Id|project id/i.test(text) &&
    !env.GOOGLE_CLOUD_PROJECT
  ) {
    return new CliError(
      EXIT.configuration,
      'no Google Cloud project: set GOOGLE_CLOUD_PROJECT (with npm start: the project its ready line prints)',
    );
  }
  if (error instanceof LockError) {
    const where =
      error.kind === 'WEAK'
        ? (environment?.weakTarget ?? 'the WEAK store')
        : (environment?.strongTarget ?? 'the STRONG store');
    if (error.code === 'BACKEND_UNAVAILABLE')
      return new CliError(
        EXIT.unreachable,
        `cannot reach ${where}: is it running (npm start), and is the address right? (${firstLine(error.message)})`,
      );
    if (error.code === 'BACKEND_FAILURE')
      return new CliError(
        EXIT.storeFailure,
        `${where} refused: ${firstLine(text)}`,
      );
    if (error.code === 'INVALID_ARGUMENT')
      return new CliError(EXIT.usage, firstLine(error.message));
  }
  return new CliError(EXIT.storeFailure, `failed: ${firstLine(text)}`);
}

/** The error's message and its causes', so a project or connection problem is recognised however deep. */
function messagesOf(error: unknown): string {
  const messages: string[] = [];
  for (
    let current: unknown = error, depth = 0;
    current && depth < 5;
    current = (current as {cause?: unknown}).cause, depth++
  ) {
    messages.push(String((current as Error).message ?? current));
  }
  return messages.join(': ');
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
