import type {ChildProcess} from 'node:child_process';
import {Datastore, PropertyFilter} from '@google-cloud/datastore';
import {PubSub, type Message, type Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {topicPushingTo} from '../support/pubsub-fixtures';
import {startExampleWorkerServer, waitForHttp} from '../support/worker-server';
import {ACCOUNT_KIND, DUPLICATE_KIND} from '../../functions/example-worker';
import {appliedEventIds} from '../support/worker-ledger';
import {delay} from './child-process';
import type {ScenarioResult} from './report';

export interface BurstSize {
  readonly messages: number;
  readonly identifiers: number;
  readonly servers: number;
  /** Time inside the lock per message: above the worker's 250 ms wait budget, so a held lock means a re-queue. */
  readonly workMs: number;
  readonly budgetMs: number;
}

/**
 * A burst on the example worker, as in test/e2e/pubsub-worker.test.ts but larger: Functions Framework
 * servers (`functions-framework --target=exampleWorker`) fed by push subscriptions on the Pub/Sub
 * emulator, the counts read from Datastore. Every message must be applied exactly once or
 * dead-lettered (applied: the once-key the worker's fenced write records); balances must equal the
 * sum of what was applied.
 */
export async function pubsubBurst(
  datastoreHost: string,
  project: string,
  size: BurstSize,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  const run = `burst-${process.pid}-${Date.now()}`;
  const pubsub = new PubSub({projectId: project});
  const db = new Datastore({projectId: project, apiEndpoint: datastoreHost});
  const servers: ChildProcess[] = [];
  try {
    const [deadLetterTopic] = await pubsub.createTopic(`${run}-dead`);
    const [deadLetters] = await deadLetterTopic.createSubscription(
      `${run}-dead-hold`,
    );
    const topics: Topic[] = [];
    for (let instance = 0; instance < size.servers; instance++) {
      const port = await freePort();
      const delivery = {
        ackDeadlineSeconds: 30,
        retryPolicy: {
          minimumBackoff: {seconds: 1},
          maximumBackoff: {seconds: 10},
        },
      };
      // Each instance re-queues to its own retry topic, pushed back to it (as deployed).
      const retry = await topicPushingTo(
        pubsub,
        `${run}-retry-${instance}`,
        `http://127.0.0.1:${port}`,
        delivery,
      );
      servers.push(
        startExampleWorkerServer(port, {
          DATASTORE_EMULATOR_HOST: datastoreHost,
          GOOGLE_CLOUD_PROJECT: project,
          LOCKS_STRONG_STORE: 'datastore',
          EXAMPLE_WORKER_WORK_MS: String(size.workMs),
          EXAMPLE_DEAD_LETTER_TOPIC: `${run}-dead`,
          EXAMPLE_RETRY_TOPIC: retry.topic,
        }),
      );
      await waitForHttp(port);
      topics.push(
        (
          await topicPushingTo(
            pubsub,
            `${run}-work-${instance}`,
            `http://127.0.0.1:${port}`,
            delivery,
          )
        ).publisher,
      );
    }

    const accounts = Array.from(
      {length: size.identifiers},
      (_, i) => `${run}-account-${i}`,
    );
    const amounts = new Map<string, number>();
    const publishedAt = Date.now();
    for (let start = 0; start < size.messages; start += 100) {
      await Promise.all(
        Array.from({length: Math.min(100, size.messages - start)}, (_, k) => {
          const i = start + k;
          const eventId = `${run}-event-${i}`;
          amounts.set(eventId, i + 1);
          return topics[i % size.servers]?.publishMessage({
            json: {
              account: accounts[i % size.identifiers],
              amount: i + 1,
              eventId,
            },
          });
        }),
      );
    }
    const publishMs = Date.now() - publishedAt;

    const deadLettered = new Set<string>();
    deadLetters.on('message', (message: Message) => {
      message.ack();
      const {eventId} = JSON.parse(message.data.toString()) as {
        eventId: string;
      };
      deadLettered.add(eventId);
    });
    const appliedIds = async () => {
      const ids = new Set<string>();
      for (const account of accounts) {
        const index = accounts.indexOf(account);
        const events = [...amounts.keys()].filter(
          id => Number(id.split('-').pop()) % size.identifiers === index,
        );
        for (let start = 0; start < events.length; start += 500)
          for (const id of await appliedEventIds(
            db,
            account,
            events.slice(start, start + 500),
          ))
            ids.add(id);
      }
      return ids;
    };
    const deadline = publishedAt + size.budgetMs;
    let applied = await appliedIds();
    while (
      applied.size + deadLettered.size < size.messages &&
      Date.now() < deadline
    ) {
      await delay(1000);
      applied = await appliedIds();
    }
    const settledMs = Date.now() - publishedAt;
    await delay(2000); // anything delivered twice would land now
    applied = await appliedIds();
    await deadLetters.close();

    let wrongBalances = 0;
    for (const account of accounts) {
      const [entity] = await db.get(db.key([ACCOUNT_KIND, account]));
      const expected = [...applied]
        .filter(
          id =>
            Number(id.split('-').pop()) % size.identifiers ===
            accounts.indexOf(account),
        )
        .reduce((sum, id) => sum + (amounts.get(id) ?? 0), 0);
      if (Number(entity?.balance ?? 0) !== expected) wrongBalances++;
    }
    const [duplicates] = await db.runQuery(
      db
        .createQuery(DUPLICATE_KIND)
        .filter(new PropertyFilter('eventId', '>=', run))
        .filter(new PropertyFilter('eventId', '<', `${run}~`)),
    );
    const both = [...applied].filter(id => deadLettered.has(id)).length;
    const lost = size.messages - new Set([...applied, ...deadLettered]).size;
    const passed =
      lost === 0 &&
      both === 0 &&
      duplicates.length === 0 &&
      wrongBalances === 0;
    return {
      size: `${size.messages} messages on ${size.identifiers} identifiers, pushed to ${size.servers} Functions Framework servers, ${size.workMs} ms of work inside the lock`,
      lost: `${lost} lost, ${duplicates.length} delivered to the handler twice, ${wrongBalances} balances off (concurrent runs), ${both} both applied and dead-lettered`,
      passed,
      details: [
        `published in ${publishMs} ms; all accounted for ${settledMs} ms after publishing${settledMs > size.budgetMs ? ' (BUDGET RAN OUT)' : ''}`,
        `${applied.size} applied exactly once, ${deadLettered.size} dead-lettered after maxAttempts`,
        `throughput: ${(applied.size / (settledMs / 1000)).toFixed(1)} messages/s applied`,
      ],
    };
  } finally {
    for (const server of servers)
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
    await pubsub.close();
    await db.close?.();
  }
}
