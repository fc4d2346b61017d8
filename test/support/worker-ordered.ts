import {setTimeout as sleep} from 'node:timers/promises';
import {cloudEvent} from '@google-cloud/functions-framework';
import {PubSub, type Topic} from '@google-cloud/pubsub';
import {
  ACCOUNT_KIND,
  accountEventOf,
  exampleWorkerOptions,
} from '../../functions/example-worker';
import {cloudLoggingLogger} from '../../functions/cloud-logging';
import {log} from '../../functions/log';
import {functionSettings, strongStoreConfig} from '../../functions/settings';
import {configureLocking} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';
// What a wake-up (a parked message published again by a hand-off or a sweep) carries.
import {PARK_SEQ_ATTRIBUTE} from '../../shared/pubsub/wake-up';

// As functions/index.ts does: the store LOCKS_STRONG_STORE names, and lockedHandler's lines
// (parked, running, handed the lock on) reach the output.
configureLocking({
  ...strongStoreConfig(functionSettings()),
  logger: cloudLoggingLogger,
});

/** The line this variant writes when it refuses a wake-up's publish on purpose. */
export const INJECTED_PUBLISH_FAILURE =
  'orderedWorker: woken publish failed (injected)';

/** How many wake-up publishes this instance fails on purpose (WORKER_FAIL_WOKEN_PUBLISHES; default 0). */
let failuresLeft = Number(process.env.WORKER_FAIL_WOKEN_PUBLISHES ?? 0);

/**
 * A Pub/Sub client whose topics refuse the first `WORKER_FAIL_WOKEN_PUBLISHES` publishes of a
 * wake-up (attributes carry `lock-park-seq`): the hand-off has committed in the store, its message
 * never leaves. Every other publish (re-queues, dead letters) goes through.
 */
function failingWakeUps(): PubSub {
  const pubsub = new PubSub();
  const topicOf = pubsub.topic.bind(pubsub);
  pubsub.topic = ((...args: Parameters<PubSub['topic']>) => {
    const topic = topicOf(...args);
    const publish = topic.publishMessage.bind(topic);
    topic.publishMessage = (async (
      message: Parameters<Topic['publishMessage']>[0],
    ) => {
      if (failuresLeft > 0 && message.attributes?.[PARK_SEQ_ATTRIBUTE]) {
        failuresLeft--;
        log('WARNING', INJECTED_PUBLISH_FAILURE, {
          topic: topic.name,
          seq: message.attributes[PARK_SEQ_ATTRIBUTE],
        });
        throw new Error('injected: the wake-up publish failed');
      }
      return publish(message);
    }) as Topic['publishMessage'];
    return topic;
  }) as PubSub['topic'];
  return pubsub;
}

/**
 * The example worker's settings (its env: EXAMPLE_RETRY_TOPIC, EXAMPLE_WORKER_LEASE_MS,
 * EXAMPLE_HANDOFF_LEASE_MS, ...) with a handler that records the ORDER of what it applied: the
 * fenced write appends the event id to the account's `applied` list beside the balance, with the
 * event id as its once-key (a redelivery appends nothing). A message may carry `workMs`: time
 * spent inside the lock before the write (a holder that keeps the lock while others park).
 * Served with `functions-framework --target=orderedWorker --source=dist/test/support/worker-ordered.js`.
 */
export const orderedWorker = lockedHandler(
  {
    ...exampleWorkerOptions,
    ...(failuresLeft > 0 ? {pubsub: failingWakeUps()} : {}),
  },
  async (event, held) => {
    const {account, amount, eventId} = accountEventOf(event);
    const {workMs} = JSON.parse(
      Buffer.from(event.data?.message?.data ?? '', 'base64').toString('utf8'),
    ) as {workMs?: unknown};
    if (typeof workMs === 'number' && workMs > 0) await sleep(workMs);
    const result = await held.fencedUpdate(
      [ACCOUNT_KIND, account],
      current => ({
        balance: Number(current?.balance ?? 0) + amount,
        applied: [
          ...((current?.applied as string[] | undefined) ?? []),
          eventId,
        ],
      }),
      {onceKey: eventId},
    );
    if (!result.applied)
      log(
        'WARNING',
        'orderedWorker: event delivered again, not applied twice',
        {
          eventId,
        },
      );
  },
);

cloudEvent('orderedWorker', orderedWorker);
