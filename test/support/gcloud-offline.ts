import {spawn} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const GCLOUD = process.env.GCLOUD_BINARY ?? 'gcloud';

/**
 * Runs gcloud with an empty configuration folder, so it checks a command line without an account:
 * bad flags exit 2, a well-formed command exits 1 ("no active account"). Nothing reaches a project.
 */
export function gcloudOffline(
  args: readonly string[],
): Promise<{code: number | null; output: string}> {
  const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  return new Promise<{code: number | null; output: string}>(
    (resolve, reject) => {
      const child = spawn(GCLOUD, args, {
        env: {
          ...process.env,
          CLOUDSDK_CONFIG: config,
          CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', error =>
        reject(
          new Error(
            `gcloud could not run (${GCLOUD}): ${error.message}. Install the Google Cloud CLI.`,
          ),
        ),
      );
      child.once('exit', code => resolve({code, output}));
    },
  ).finally(() => rmSync(config, {recursive: true, force: true}));
}
