import type {ChildProcess} from 'node:child_process';
import {answersHttp, waitUntil} from '../../infra/spawn-and-wait';
import {startFunctionServer} from './function-server';

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
  return startFunctionServer('exampleWorker', port, env, output);
}

/** Resolves once something answers HTTP on `port`; rejects after 30 s. */
export function waitForHttp(port: number): Promise<void> {
  return waitUntil(
    () => answersHttp(`http://127.0.0.1:${port}/`),
    30_000,
    `HTTP on port ${port}`,
  );
}
