import {execFile} from 'node:child_process';

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
  return args =>
    new Promise((resolve, reject) =>
      execFile(
        binary,
        args,
        {maxBuffer: 16 * 1024 * 1024},
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number')
            reject(
              new Error(
                `gcloud could not run (${binary}): ${error.message}. Install the Google Cloud CLI.`,
              ),
            );
          else
            resolve({code: error ? (error.code as number) : 0, stdout, stderr});
        },
      ),
    );
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
