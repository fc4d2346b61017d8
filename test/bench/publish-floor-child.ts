/**
 * The other process of the publish floor (publish-floor.ts): STORE_HOST (HOST:PORT), CHANNEL.
 * Subscribes, prints {ready}, then prints {receivedAt} (ms, this host's clock, sub-ms) for every
 * message, until the bench sends "end".
 */
import {requiredEnv, runAsProcess} from '../support/worker-process';
import {nowMs} from './stats';
import {valkeyRedis} from './weak-clients';

async function main(): Promise<void> {
  const subscriber = valkeyRedis(requiredEnv('STORE_HOST'));
  const channel = requiredEnv('CHANNEL');
  const ended = new Promise<void>(resolve =>
    subscriber.on('message', (_channel: string, message: string) => {
      if (message === 'end') return resolve();
      process.stdout.write(`${JSON.stringify({receivedAt: nowMs()})}\n`);
    }),
  );
  await subscriber.subscribe(channel);
  process.stdout.write(`${JSON.stringify({ready: true})}\n`);
  await ended;
  subscriber.disconnect();
}

runAsProcess(main);
