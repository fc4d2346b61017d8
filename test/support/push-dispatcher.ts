import type {ChildProcess} from 'node:child_process';
import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {topicPushingTo, type PushDelivery} from './pubsub-fixtures';
import {
  EXAMPLE_WORKER,
  startExampleWorkerServer,
  waitForHttp,
  type WorkerVariant,
} from './worker-server';

/**
 * The platform as Cloud Run runs one function: `instances` example-worker processes (Functions
 * Framework servers), each serving ONE request at a time (a function's default concurrency), behind
 * one URL. The Pub/Sub emulator's push subscriptions of the function's work topic and of its retry
 * topic both post to that URL, as they would to a deployed function. A push goes to a free instance
 * or waits in a FIFO queue until one is free; the emulator gets the instance's status (2xx acks).
 *
 * Why not one process, or one topic per instance: in one process a release wakes its waiters at
 * once, which hides the cross-instance cost; and an instance with its own topics never queues
 * behind the others, which hides the cost of a re-queued message that occupies an instance.
 *
 * Counted for the caller: deliveries per eventId (the example worker's data is JSON
 * `{account, amount, eventId}`) and per source topic, and each push's wait in the queue.
 */
export interface PushDispatcher {
  /** Publishes one message to the work topic per awaited call. */
  readonly work: Topic;
  /** Full names of the two topics pushed here. */
  readonly workTopic: string;
  readonly retryTopic: string;
  /** What was pushed so far (a fresh copy). */
  stats(): DispatchStats;
  /** Forgets the counts (the instances stay up). */
  resetStats(): void;
  /** The server of instance `index` (a new process after `restart`). */
  instance(index: number): ChildProcess;
  /** SIGKILLs instance `index` (its push in flight answers 502: redelivered) and starts a fresh one. */
  restart(index: number): Promise<void>;
  /** Stops every instance and the dispatcher. */
  close(): Promise<void>;
}

export type PushSource = 'work' | 'retry';

export interface DispatchStats {
  /** Deliveries per eventId, by the topic they came from. */
  readonly deliveries: ReadonlyMap<
    string,
    Readonly<Record<PushSource, number>>
  >;
  /** Pushes per source, and pushes whose data had no eventId or whose topic was neither. */
  readonly pushes: Readonly<Record<PushSource | 'unknown', number>>;
  /** Each push's time in the queue before an instance took it, in arrival order. */
  readonly queueWaitsMs: readonly number[];
  /** The most pushes the dispatcher held at once (running on an instance or queued). */
  readonly peakInFlight: number;
  /** How many pushes each status answered (0: the instance died or did not answer). */
  readonly statuses: ReadonlyMap<number, number>;
}

export interface PushDispatcherOptions {
  readonly instances: number;
  /**
   * The workers' environment on top of ours: project, store, EXAMPLE_* settings. The dispatcher
   * sets EXAMPLE_RETRY_TOPIC to its retry topic.
   */
  readonly env: Record<string, string>;
  /** Names the topics (a fresh suffix is added). */
  readonly label?: string;
  /** Each log line of each instance, as it arrives. */
  readonly onLine?: (line: string, instance: number) => void;
  /** The push subscriptions' settings; default: ack deadline 60 s, retry backoff 1 to 2 s. */
  readonly delivery?: PushDelivery;
  readonly variant?: WorkerVariant;
}

interface Pending {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly response: ServerResponse;
  readonly arrivedAt: number;
}

interface Instance {
  readonly port: number;
  server: ChildProcess;
  closed: Promise<unknown>;
  busy: boolean;
  /** False while it restarts: a dead port would answer every queued push at once. */
  up: boolean;
}

export async function startPushDispatcher(
  pubsub: PubSub,
  options: PushDispatcherOptions,
): Promise<PushDispatcher> {
  const label = options.label ?? 'dispatch';
  let stats = emptyStats();
  const queue: Pending[] = [];
  let inFlight = 0;
  const instances: Instance[] = [];
  // One connection per instance suffices: it serves one request at a time.
  const agent = new Agent({keepAlive: true, maxSockets: 1});
  let workTopic = '';
  let retryTopic = '';

  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      count(incoming.url ?? '', body);
      inFlight++;
      if (inFlight > stats.peakInFlight)
        (stats as {peakInFlight: number}).peakInFlight = inFlight;
      queue.push({
        path: incoming.url ?? '/',
        headers: incoming.headers,
        body,
        response,
        arrivedAt: performance.now(),
      });
      pump();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function count(path: string, body: Buffer): void {
    const source: PushSource | 'unknown' =
      workTopic && path.endsWith(workTopic)
        ? 'work'
        : retryTopic && path.endsWith(retryTopic)
          ? 'retry'
          : 'unknown';
    const eventId = eventIdOf(body);
    const pushes = stats.pushes as Record<PushSource | 'unknown', number>;
    if (source === 'unknown' || eventId === undefined) {
      pushes.unknown++;
      return;
    }
    pushes[source]++;
    const deliveries = stats.deliveries as Map<
      string,
      Record<PushSource, number>
    >;
    const seen = deliveries.get(eventId) ?? {work: 0, retry: 0};
    seen[source]++;
    deliveries.set(eventId, seen);
  }

  function pump(): void {
    for (const instance of instances) {
      if (!instance || instance.busy || !instance.up) continue;
      const next = queue.shift();
      if (!next) return;
      instance.busy = true;
      (stats.queueWaitsMs as number[]).push(performance.now() - next.arrivedAt);
      forward(instance, next);
    }
  }

  function forward(instance: Instance, pending: Pending): void {
    let answered = false;
    const answer = (status: number, body?: Buffer) => {
      if (answered) return;
      answered = true;
      inFlight--;
      const statuses = stats.statuses as Map<number, number>;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      pending.response.writeHead(status === 0 ? 502 : status);
      pending.response.end(body);
      instance.busy = false;
      pump();
    };
    const headers = {...pending.headers};
    delete headers.host;
    headers['content-length'] = String(pending.body.length);
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: instance.port,
        method: 'POST',
        path: pending.path,
        headers,
        agent,
      },
      reply => {
        const chunks: Buffer[] = [];
        reply.on('data', (chunk: Buffer) => chunks.push(chunk));
        reply.on('end', () =>
          answer(reply.statusCode ?? 0, Buffer.concat(chunks)),
        );
        reply.on('error', () => answer(0));
      },
    );
    outgoing.on('error', () => answer(0));
    outgoing.end(pending.body);
  }

  const start = async (index: number, port: number) => {
    const server = startExampleWorkerServer(
      port,
      {...options.env, EXAMPLE_RETRY_TOPIC: retryTopic},
      line => options.onLine?.(line, index),
      options.variant ?? EXAMPLE_WORKER,
    );
    const closed = new Promise(resolve => server.once('close', resolve));
    await waitForHttp(port);
    return {server, closed};
  };

  const kill = (instance: Instance) => {
    try {
      if (instance.server.pid) process.kill(-instance.server.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const delivery: PushDelivery = options.delivery ?? {
    ackDeadlineSeconds: 60,
    retryPolicy: {minimumBackoff: {seconds: 1}, maximumBackoff: {seconds: 2}},
  };
  try {
    const retry = await topicPushingTo(
      pubsub,
      `${label}-retry`,
      baseUrl,
      delivery,
    );
    retryTopic = retry.topic;
    // Started side by side: on a small machine a cold Functions Framework takes a second or two.
    await Promise.all(
      Array.from({length: options.instances}, async (_, index) => {
        const port = await freePort();
        const started = await start(index, port);
        instances[index] = {port, ...started, busy: false, up: true};
      }),
    );
    const work = await topicPushingTo(
      pubsub,
      `${label}-work`,
      baseUrl,
      delivery,
    );
    workTopic = work.topic;
    return {
      work: work.publisher,
      workTopic,
      retryTopic,
      stats: () => copyStats(stats),
      resetStats: () => {
        stats = emptyStats();
      },
      instance: index => instanceAt(instances, index).server,
      restart: async index => {
        const instance = instanceAt(instances, index);
        instance.up = false;
        kill(instance);
        await instance.closed;
        Object.assign(instance, await start(index, instance.port), {
          up: true,
        });
        pump();
      },
      close: () => closeAll(),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }

  async function closeAll(): Promise<void> {
    for (const instance of instances) if (instance) kill(instance);
    await Promise.all(instances.map(instance => instance?.closed));
    for (const pending of queue.splice(0)) pending.response.destroy();
    agent.destroy();
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
}

function instanceAt(instances: Instance[], index: number): Instance {
  const instance = instances[index];
  if (!instance) throw new Error(`no instance ${index}`);
  return instance;
}

/** The eventId of the example worker's message in a push body, if it has one. */
function eventIdOf(body: Buffer): string | undefined {
  try {
    const push = JSON.parse(body.toString()) as {message?: {data?: string}};
    const data = JSON.parse(
      Buffer.from(push.message?.data ?? '', 'base64').toString(),
    ) as {eventId?: unknown};
    return typeof data.eventId === 'string' ? data.eventId : undefined;
  } catch {
    return undefined;
  }
}

function emptyStats(): DispatchStats {
  return {
    deliveries: new Map(),
    pushes: {work: 0, retry: 0, unknown: 0},
    queueWaitsMs: [],
    peakInFlight: 0,
    statuses: new Map(),
  };
}

function copyStats(stats: DispatchStats): DispatchStats {
  return {
    deliveries: new Map(
      [...stats.deliveries].map(([id, seen]) => [id, {...seen}]),
    ),
    pushes: {...stats.pushes},
    queueWaitsMs: [...stats.queueWaitsMs],
    peakInFlight: stats.peakInFlight,
    statuses: new Map(stats.statuses),
  };
}
