import type {ChildProcess} from 'node:child_process';
import {join} from 'node:path';
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
  output?: string[] | ((line: string) => void),
  variant: WorkerVariant = EXAMPLE_WORKER,
): ChildProcess {
  return startFunctionServer(variant.target, port, env, output, variant.source);
}

/** Which worker a server runs: the example itself, or a test fixture's variant of it. */
export interface WorkerVariant {
  readonly target: string;
  readonly source?: string;
}

export const EXAMPLE_WORKER: WorkerVariant = {target: 'exampleWorker'};

/** The nemesis control: the old check-then-write (test/support/worker-check-then-write.ts). */
export const CHECK_THEN_WRITE_WORKER: WorkerVariant = {
  target: 'checkThenWriteWorker',
  source: join(__dirname, 'worker-check-then-write.js'),
};

/**
 * The waiting room's tests: the example's settings, recording the order it applied events in, and
 * failing wake-up publishes on demand (test/support/worker-ordered.ts).
 */
export const ORDERED_WORKER: WorkerVariant = {
  target: 'orderedWorker',
  source: join(__dirname, 'worker-ordered.js'),
};

/** Resolves once something answers HTTP on `port`; rejects after 30 s. */
export function waitForHttp(port: number): Promise<void> {
  return waitUntil(
    () => answersHttp(`http://127.0.0.1:${port}/`),
    30_000,
    `HTTP on port ${port}`,
  );
}
