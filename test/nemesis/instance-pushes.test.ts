import {strict as assert} from 'node:assert';
import {createServer, type Server} from 'node:http';
import type {Socket} from 'node:net';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {
  startInstanceFront,
  type InstanceFront,
} from '../support/instance-front';
import {pubsubClient, topicPushingTo} from '../support/pubsub-fixtures';
import {WORKER_PUSH_DELIVERY} from '../support/worker-instance';

/**
 * The handler nemesis kills an instance and replaces it: every message must still be delivered,
 * through the Pub/Sub emulator, as the platform would. A stand-in process (an HTTP server that
 * answers as told) behind the instance's front, on push subscriptions made as the worker
 * instances make theirs.
 */
describe('worker instance pushes (the handler nemesis harness)', function () {
  this.timeout(60_000);
  let pubsub: PubSub;
  let front: InstanceFront | undefined;
  let process_: FakeProcess | undefined;

  before(() => {
    pubsub = pubsubClient();
  });
  afterEach(async () => {
    process_?.kill();
    await front?.close();
  });
  after(() => pubsub.close());

  it('pushes published while the process is replaced wait for the replacement, and the push the killed process had taken is delivered again', async () => {
    front = await startInstanceFront();
    const port = await freePort();
    process_ = await fakeProcess(port, () => 'hold');
    front.up(port);
    const topic = await pushingTo(pubsub, front.baseUrl);
    await topic.publishMessage({data: Buffer.from('m0')});
    await until(
      () => process_?.seen.has('m0') ?? false,
      'm0 reaches the process',
    );

    // Killed with m0 in its handler; m1..m5 arrive while no process runs, for longer than two
    // of the emulator's redeliveries.
    process_.kill();
    front.down();
    for (let i = 1; i < 6; i++)
      await topic.publishMessage({data: Buffer.from(`m${i}`)});
    await new Promise(resolve => setTimeout(resolve, 4000));

    process_ = await fakeProcess(port, () => 204);
    front.up(port);
    const all = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
    await until(
      () => all.every(text => process_?.acked.has(text)),
      'every message acknowledged by the replacement',
      20_000,
    );
  });

  it('messages nacked 4 times each are delivered again until acknowledged (with a retry policy the emulator can stop redelivering)', async () => {
    front = await startInstanceFront();
    const port = await freePort();
    // As a handler that fails a few times (a lost lock, a store cut off), then succeeds.
    process_ = await fakeProcess(port, (_, attempt) =>
      attempt <= 4 ? 500 : 204,
    );
    front.up(port);
    const topic = await pushingTo(pubsub, front.baseUrl);
    const all = Array.from({length: 12}, (_, i) => `n${i}`);
    await Promise.all(
      all.map(text => topic.publishMessage({data: Buffer.from(text)})),
    );
    await until(
      () => all.every(text => process_?.acked.has(text)),
      'every message acknowledged on its fifth delivery',
      20_000,
    );
  });
});

async function pushingTo(pubsub: PubSub, baseUrl: string): Promise<Topic> {
  const {publisher} = await topicPushingTo(
    pubsub,
    'instance-pushes',
    baseUrl,
    WORKER_PUSH_DELIVERY,
  );
  return publisher;
}

interface FakeProcess {
  /** Message texts delivered at least once, and those answered with a 2xx. */
  readonly seen: Set<string>;
  readonly acked: Set<string>;
  /** Gone at once, connections and all, as SIGKILL leaves it. */
  kill(): void;
}

/** Answers each push with a status, or 'hold' to never answer (a handler still running). */
async function fakeProcess(
  port: number,
  answer: (text: string, attempt: number) => number | 'hold',
): Promise<FakeProcess> {
  const seen = new Set<string>();
  const acked = new Set<string>();
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const {message} = JSON.parse(Buffer.concat(chunks).toString()) as {
        message: {data: string};
      };
      const text = Buffer.from(message.data, 'base64').toString();
      const attempt = (attempts.get(text) ?? 0) + 1;
      attempts.set(text, attempt);
      seen.add(text);
      const status = answer(text, attempt);
      if (status === 'hold') return;
      if (status < 300) acked.add(text);
      response.writeHead(status).end();
    });
  });
  server.on('connection', socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  return {
    seen,
    acked,
    kill: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Fails the test unless `done` holds within `timeoutMs`. */
async function until(
  done: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done();) {
    if (Date.now() > deadline)
      assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}
