import {runToEnd} from '../../infra/spawn-and-wait';

/** Runs a command to its end (bounded); rejects with its stderr when it fails. */
export async function run(
  command: string,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  const result = await runToEnd(command, args, {timeoutMs}).catch(
    (error: Error) => ({
      code: null,
      signal: null,
      stdout: '',
      stderr: error.message,
    }),
  );
  if (result.code !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.code ?? result.signal}`}`,
    );
  return result.stdout;
}

/** The same, for clean-up: a failure is returned, not thrown, so one failed step does not stop the rest. */
export async function tryRun(
  command: string,
  args: readonly string[],
): Promise<string | undefined> {
  try {
    await run(command, args);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
