import type {ChildProcess} from 'node:child_process';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {TEST_PROJECT} from './global-setup';
import {topicPushingTo} from './pubsub-fixtures';
import {startExampleWorkerServer, waitForHttp} from './worker-server';

export interface WorkerInstance {
  readonly server: ChildProcess;
  /** Publishes to this instance's own work topic, pushed to it alone. */
  readonly work: Topic;
  /** Sends `signal` to the instance's whole process group. */
  signal(signal: NodeJS.Signals): void;
}

/**
 * One Cloud Functions instance of the example worker: a Functions Framework server fed by its own
 * work topic and re-queueing to its own retry topic, both pushed back to it, as `npm run deploy`
 * wires one function. Redeliveries come back within a second or two.
 */
export async function startWorkerInstance(
  pubsub: PubSub,
  label: string,
  env: Record<string, string>,
  output?: string[],
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
  const server = startExampleWorkerServer(
    port,
    {
      GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
      EXAMPLE_RETRY_TOPIC: retry.topic,
      ...env,
    },
    output,
  );
  await waitForHttp(port);
  const work = await topicPushingTo(pubsub, `work-${label}`, baseUrl, delivery);
  return {
    server,
    work: work.publisher,
    signal: signal => {
      try {
        if (server.pid) process.kill(-server.pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
}
