import {execFile} from 'node:child_process';

/** Runs a command to its end (bounded); rejects with its stderr when it fails. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {timeout: timeoutMs},
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(
              `${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`,
            ),
          );
        else resolve(stdout);
      },
    );
  });
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
