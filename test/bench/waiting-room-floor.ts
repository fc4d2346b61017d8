import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {PubSub} from '@google-cloud/pubsub';
import {topicPushingTo} from '../support/pubsub-fixtures';
import {median, percentile, round} from './stats';

/**
 * The floor under a hand-off on the emulator: from an awaited publish (as lockedHandler publishes a
 * wake-up) to the push reaching an HTTP server, on an idle push subscription. The emulator's push
 * loop sleeps 100 ms whenever its backlog is empty, so this is roughly uniform over 0–100 ms plus
 * the publish; real Pub/Sub push has no such loop.
 */
export async function pushLatencyFloor(
  pubsub: PubSub,
  samples = 20,
): Promise<{p50Ms: number; p95Ms: number}> {
  const arrived = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const push = JSON.parse(Buffer.concat(chunks).toString()) as {
        message: {attributes?: Record<string, string>};
      };
      const probe = push.message.attributes?.probe;
      if (probe) arrived.set(probe, performance.now());
      response.writeHead(204).end();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  try {
    const {publisher} = await topicPushingTo(
      pubsub,
      'push-floor',
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      // Spaced as hand-offs are (a handler's 100 ms), and at an odd phase against the 100 ms loop.
      await new Promise(resolve => setTimeout(resolve, 137));
      const sentAt = performance.now();
      await publisher.publishMessage({
        data: Buffer.from('{}'),
        attributes: {probe: String(i)},
      });
      while (!arrived.has(String(i)) && performance.now() - sentAt < 5000)
        await new Promise(resolve => setTimeout(resolve, 2));
      const at = arrived.get(String(i));
      if (at !== undefined) latencies.push(at - sentAt);
    }
    return {
      p50Ms: round(median(latencies), 0),
      p95Ms: round(percentile(latencies, 95), 0),
    };
  } finally {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
}
