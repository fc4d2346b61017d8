import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';

/** The repository root, seen from dist/test/support. */
export const REPO = join(__dirname, '../../..');

/**
 * The example Pub/Sub worker served by the real `functions-framework` CLI from the built repo, as
 * one Cloud Functions instance: its own process group, configured by `env` on top of ours.
 * `output` collects its log lines when given; otherwise they are dropped.
 */
export function startExampleWorkerServer(
  port: number,
  env: Record<string, string | undefined>,
  output?: string[],
): ChildProcess {
  const server = spawn(
    process.execPath,
    [
      join(
        REPO,
        'node_modules/@google-cloud/functions-framework/build/src/main.js',
      ),
      '--target=exampleWorker',
      `--source=${REPO}`,
      `--port=${port}`,
    ],
    {
      cwd: REPO,
      detached: true,
      env: {...process.env, NODE_ENV: 'production', ...env},
      stdio: ['ignore', output ? 'pipe' : 'ignore', output ? 'pipe' : 'ignore'],
    },
  );
  if (output) {
    const collect = (chunk: Buffer) =>
      output.push(...chunk.toString().split('\n').filter(Boolean));
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);
  }
  return server;
}

/** Resolves once something answers HTTP on `port`; rejects after 30 s. */
export async function waitForHttp(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, {
        method: 'GET',
        signal: AbortSignal.timeout(1000),
      });
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`nothing answered HTTP on port ${port} within 30 s`);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
}
