import {runToEnd} from '../spawn-and-wait';

export interface GcloudResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one `gcloud` command line that only reads (a dry run makes these too); a stub in tests. */
export type GcloudRunner = (args: readonly string[]) => Promise<GcloudResult>;

/** The real gcloud: never rejects for a non-zero exit, so each caller decides what a failure means. */
export function gcloudRunner(
  binary = process.env.GCLOUD_BINARY ?? 'gcloud',
): GcloudRunner {
  return async args => {
    const couldNotRun = (why: string) =>
      new Error(
        `gcloud could not run (${binary}): ${why}. Install the Google Cloud CLI.`,
      );
    const {code, signal, stdout, stderr} = await runToEnd(binary, args).catch(
      (error: Error) => {
        throw couldNotRun(error.message);
      },
    );
    if (code === null) throw couldNotRun(`killed by ${signal}`);
    return {code, stdout, stderr};
  };
}

/** gcloud's way of saying a resource does not exist (as opposed to "could not look"). */
export function saysNotFound(result: GcloudResult): boolean {
  return (
    result.code !== 0 &&
    /\bNOT_FOUND\b|\bnot found\b|does not exist/i.test(result.stderr) &&
    !/PERMISSION_DENIED|SERVICE_DISABLED/.test(result.stderr)
  );
}

/** A read that failed for another reason than NOT_FOUND: never taken for "missing" (which would create something). */
export function readFailed(
  what: string,
  args: readonly string[],
  result: GcloudResult,
): Error {
  return new Error(
    `could not read ${what} (gcloud ${args.slice(0, 4).join(' ')} exited ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
  );
}
