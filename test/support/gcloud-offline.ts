import {runToEnd} from '../../infra/spawn-and-wait';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const GCLOUD = process.env.GCLOUD_BINARY ?? 'gcloud';

/**
 * Runs gcloud with an empty configuration folder, so it checks a command line without an account:
 * bad flags exit 2, a well-formed command exits 1 ("no active account"). Nothing reaches a project.
 */
export async function gcloudOffline(
  args: readonly string[],
): Promise<{code: number | null; output: string}> {
  const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  try {
    const {code, output} = await runToEnd(GCLOUD, args, {
      env: {
        ...process.env,
        CLOUDSDK_CONFIG: config,
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      },
    }).catch((error: Error) => {
      throw new Error(
        `gcloud could not run (${GCLOUD}): ${error.message}. Install the Google Cloud CLI.`,
      );
    });
    return {code, output};
  } finally {
    rmSync(config, {recursive: true, force: true});
  }
}
