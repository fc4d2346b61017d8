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

type MessageOptions = Parameters<Topic['publishMessage']>[0];
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
 * The Pub/Sub emulator (0.8.20) pushes ONE message at a time per subscription: its push loop pulls a
 * message, posts it, waits for the answer, then takes the next (and sleeps 100 ms when the backlog
 * is empty). Real push delivers many at once. So a topic here is several lanes, each a topic with
 * its own push subscription to the dispatcher: `work` spreads messages over `workLanes` topics,
 * and each instance re-queues and hands off to a retry topic of its own (EXAMPLE_RETRY_TOPIC), all
 * pushed to the one URL, so every instance's pushes can be in flight at once. What the lanes cannot
 * remove is the idle loop's 100 ms sleep: a message published to an idle lane waits up to 100 ms.
 *
 * Counted for the caller: deliveries per eventId (the example worker's data is JSON
 * `{account, amount, eventId}`) and per source (work or retry topics), and each push's wait in the queue.
 */
export interface PushDispatcher {
  /** Publishes one message to the next work lane, round robin (resolves with its message id). */
  publish(message: MessageOptions): Promise<string>;
  /** Full names of the topics pushed here: the work lanes, and each instance's retry topic. */
  readonly workTopics: readonly string[];
  readonly retryTopics: readonly string[];
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
   * sets EXAMPLE_RETRY_TOPIC to the instance's own retry topic.
   */
  readonly env: Record<string, string>;
  /** Names the topics (a fresh suffix is added). */
  readonly label?: string;
  /** Work topics (one push subscription each); default: twice the instances, so pushes queue here. */
  readonly workLanes?: number;
  /** Called as each push arrives, before it waits for an instance. */
  readonly onPush?: (push: ArrivedPush) => void;
  /** Each log line of each instance, as it arrives. */
  readonly onLine?: (line: string, instance: number) => void;
  /** The push subscriptions' settings; default: ack deadline 60 s, retry backoff 1 to 2 s. */
  readonly delivery?: PushDelivery;
  readonly variant?: WorkerVariant;
}

export interface ArrivedPush {
  readonly source: PushSource | 'unknown';
  readonly eventId: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
  /** Date.now() at arrival. */
  readonly arrivedAtMs: number;
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
  readonly retryTopic: string;
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
  const workTopics = new Set<string>();
  const retryTopics = new Set<string>();
  const topicOf = (path: string) => path.replace(/^\//, '').split('?')[0] ?? '';

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
    const topic = topicOf(path);
    const source: PushSource | 'unknown' = workTopics.has(topic)
      ? 'work'
      : retryTopics.has(topic)
        ? 'retry'
        : 'unknown';
    const {eventId, attributes} = messageOf(body);
    options.onPush?.({source, eventId, attributes, arrivedAtMs: Date.now()});
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

  const start = async (index: number, port: number, retryTopic: string) => {
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

  // No retry policy: on the emulator one can stop a subscription's redeliveries for good
  // (WORKER_PUSH_DELIVERY in worker-instance.ts says how); without one a failed push comes back
  // after about a second.
  const delivery: PushDelivery = options.delivery ?? {
    ackDeadlineSeconds: 60,
    retryPolicy: null,
  };
  try {
    // Started side by side: on a small machine a cold Functions Framework takes a second or two.
    await Promise.all(
      Array.from({length: options.instances}, async (_, index) => {
        const [port, retry] = await Promise.all([
          freePort(),
          topicPushingTo(pubsub, `${label}-retry-${index}`, baseUrl, delivery),
        ]);
        retryTopics.add(retry.topic);
        const started = await start(index, port, retry.topic);
        instances[index] = {
          port,
          retryTopic: retry.topic,
          ...started,
          busy: false,
          up: true,
        };
      }),
    );
    const lanes: Topic[] = await Promise.all(
      Array.from(
        {length: options.workLanes ?? 2 * options.instances},
        async (_, index) => {
          const lane = await topicPushingTo(
            pubsub,
            `${label}-work-${index}`,
            baseUrl,
            delivery,
          );
          workTopics.add(lane.topic);
          return lane.publisher;
        },
      ),
    );
    let next = 0;
    return {
      publish: message =>
        (lanes[next++ % lanes.length] as Topic).publishMessage(message),
      workTopics: [...workTopics],
      retryTopics: [...retryTopics],
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
        Object.assign(
          instance,
          await start(index, instance.port, instance.retryTopic),
          {up: true},
        );
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

/** The eventId of the example worker's message in a push body, if it has one, and its attributes. */
function messageOf(body: Buffer): {
  eventId: string | undefined;
  attributes: Record<string, string>;
} {
  let attributes: Record<string, string> = {};
  try {
    const push = JSON.parse(body.toString()) as {
      message?: {data?: string; attributes?: Record<string, string>};
    };
    attributes = push.message?.attributes ?? {};
    const data = JSON.parse(
      Buffer.from(push.message?.data ?? '', 'base64').toString(),
    ) as {eventId?: unknown};
    return {
      eventId: typeof data.eventId === 'string' ? data.eventId : undefined,
      attributes,
    };
  } catch {
    return {eventId: undefined, attributes};
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
