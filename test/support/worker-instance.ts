import type {ChildProcess} from 'node:child_process';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {topicPushingTo} from './pubsub-fixtures';
import {
  EXAMPLE_WORKER,
  startExampleWorkerServer,
  waitForHttp,
  type WorkerVariant,
} from './worker-server';

export interface WorkerInstance {
  /** Publishes to this instance's own work topic, pushed to it alone. */
  readonly work: Topic;
  /** The running server (a new one after `restart`). */
  server(): ChildProcess;
  /** Sends `signal` to the instance's whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, then a fresh process on the same port: a crashed instance replaced. */
  restart(): Promise<void>;
}

export interface WorkerInstanceOptions {
  readonly variant?: WorkerVariant;
  /** Collects the instance's log lines. */
  readonly onLine?: (line: string) => void;
}

/**
 * One Cloud Functions instance of the example worker: a Functions Framework server fed by its own
 * work topic and re-queueing to its own retry topic, both pushed back to it, as `npm run deploy`
 * wires one function. Redeliveries come back within a second or two. `env` needs the project
 * (GOOGLE_CLOUD_PROJECT) and the store.
 */
export async function startWorkerInstance(
  pubsub: PubSub,
  label: string,
  env: Record<string, string>,
  output?: string[],
  options: WorkerInstanceOptions = {},
): Promise<WorkerInstance> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const delivery = {
    ackDeadlineSeconds: 30,
    retryPolicy: {minimumBackoff: {seconds: 1}, maximumBackoff: {seconds: 2}},
  };
  const retry = await topicPushingTo(
    pubsub,
    `retry-${label}`,
    baseUrl,
    delivery,
  );
  const lines = (line: string) => {
    output?.push(line);
    options.onLine?.(line);
  };
  const start = async () => {
    const started = startExampleWorkerServer(
      port,
      {EXAMPLE_RETRY_TOPIC: retry.topic, ...env},
      lines,
      options.variant ?? EXAMPLE_WORKER,
    );
    const closed = new Promise(resolve => started.once('close', resolve));
    await waitForHttp(port);
    return {started, closed};
  };
  let {started: server, closed} = await start();
  const signal = (name: NodeJS.Signals) => {
    try {
      if (server.pid) process.kill(-server.pid, name);
    } catch {
      // Already gone.
    }
  };
  const work = await topicPushingTo(pubsub, `work-${label}`, baseUrl, delivery);
  return {
    work: work.publisher,
    server: () => server,
    signal,
    restart: async () => {
      signal('SIGKILL');
      await closed;
      ({started: server, closed} = await start());
    },
  };
}
