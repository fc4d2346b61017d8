import type {ChildProcess} from 'node:child_process';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {startInstanceFront} from './instance-front';
import {topicPushingTo, type PushDelivery} from './pubsub-fixtures';
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
  /**
   * Sends `signal` to the instance's whole process group. SIGKILL ends the instance for good: its
   * URL stops answering (`crash` is the kill that `restart` replaces).
   */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, its URL still taking pushes: they wait for `restart`, as Cloud Run routes them. */
  crash(): Promise<void>;
  /** A fresh process behind the same URL (after SIGKILL, when still running): a crashed instance replaced. */
  restart(): Promise<void>;
}

export interface WorkerInstanceOptions {
  readonly variant?: WorkerVariant;
  /** Collects the instance's log lines. */
  readonly onLine?: (line: string) => void;
}

/**
 * No retry policy on the push subscriptions: the Pub/Sub emulator (0.8.20) then delivers a failed
 * push again 1 s later (its push loop sets the failed delivery's ack deadline to 1 s), for as long as
 * it fails. With a retry policy it can lose messages for good: the second failure of a delivery
 * puts it in a delayed-redelivery map, and when two deliveries of one subscription fail twice and
 * expire together the map holds a stale ack id, whose redelivery throws a NullPointerException
 * (MessageBacklog.nackMessage, from expireOutstandingMessages) inside a scheduleAtFixedRate task:
 * the executor cancels the task silently, and no delayed message of that subscription is ever
 * pushed again. Seen with jdb on the emulator; an endpoint down 6 s with 6 messages waiting: a
 * subscription with a 1-2 s retry policy delivered none of them once it was back, one without
 * delivered all 6 within 0.1 s. It cost the nemesis handler run its events (NEMESIS.md).
 */
export const WORKER_PUSH_DELIVERY: PushDelivery = {
  ackDeadlineSeconds: 30,
  retryPolicy: null,
};

/**
 * One Cloud Functions instance of the example worker: a Functions Framework server fed by its own
 * work topic and re-queueing to its own retry topic, both pushed back to it, as `npm run deploy`
 * wires one function. Pushes go through a front (instance-front.ts) that stays up while the process
 * is replaced, as the function's URL does. Redeliveries come back within a second or two. `env`
 * needs the project (GOOGLE_CLOUD_PROJECT) and the store.
 */
export async function startWorkerInstance(
  pubsub: PubSub,
  label: string,
  env: Record<string, string>,
  output?: string[],
  options: WorkerInstanceOptions = {},
): Promise<WorkerInstance> {
  const port = await freePort();
  const front = await startInstanceFront();
  const retry = await topicPushingTo(
    pubsub,
    `retry-${label}`,
    front.baseUrl,
    WORKER_PUSH_DELIVERY,
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
    started.once('exit', () => {
      alive = false;
      front.down();
    });
    alive = true;
    const closed = new Promise(resolve => started.once('close', resolve));
    await waitForHttp(port);
    front.up(port);
    return {started, closed};
  };
  /** Whether the group is ours still: once it exited, its id may name another process's group. */
  let alive = false;
  let {started: server, closed} = await start();
  const send = (name: NodeJS.Signals) => {
    try {
      if (alive && server.pid) process.kill(-server.pid, name);
    } catch {
      // Already gone.
    }
  };
  const signal = (name: NodeJS.Signals) => {
    send(name);
    if (name === 'SIGKILL') void front.close();
  };
  const work = await topicPushingTo(
    pubsub,
    `work-${label}`,
    front.baseUrl,
    WORKER_PUSH_DELIVERY,
  );
  return {
    work: work.publisher,
    server: () => server,
    signal,
    crash: async () => {
      send('SIGKILL');
      await closed;
    },
    restart: async () => {
      send('SIGKILL');
      await closed;
      ({started: server, closed} = await start());
    },
  };
}
