import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {PropertyFilter} from '@google-cloud/datastore';
import type {PubSub, Subscription} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {DUPLICATE_KIND} from '../../functions/example-worker';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {DEFAULT_STRONG_TARGET} from '../support/strong-targets';
import {ledgerReader} from '../support/worker-ledger';
import {TEST_PROJECT} from '../support/global-setup';
import {delay, uniqueId} from '../support/ids';
import {pubsubClient, pull, topicPushingTo} from '../support/pubsub-fixtures';
import {startExampleWorkerServer, waitForHttp} from '../support/worker-server';

const MESSAGES = 100;
const ACCOUNTS = 5;
/** Functions Framework servers, as Cloud Functions instances: each has its own push subscription. */
const SERVERS = 3;
const firestore = DATASTORE_TARGETS[1];

/**
 * End to end: the Pub/Sub emulator pushes to a Functions Framework server hosting the example
 * worker, as Cloud Functions would be invoked. The worker's unprotected read-modify-write of each
 * account balance is correct only if the lock lets one message per account in at a time. A message
 * whose account is busy parks in the lock's waiting room and is woken through the retry topic of the
 * instance that parked it (each instance has its own, pushed back to it, as `npm run deploy` sets one
 * up per function); an audit subscription on each work topic sees every event once.
 */
describe('end to end: Pub/Sub push to the example worker', function () {
  this.timeout(180_000);
  const servers: ChildProcess[] = [];
  const ports: number[] = [];
  let pubsub: PubSub;
  const output: string[] = [];

  before(async () => {
    pubsub = pubsubClient();
  });
  afterEach(function () {
    // What the instances did is the only account of a failure here: print it.
    if (this.currentTest?.state === 'failed')
      console.log(`      the instances' logs:\n${output.join('\n')}`);
  });
  after(async () => {
    for (const server of servers)
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
    await pubsub.close();
  });

  it(`a burst of ${MESSAGES} messages over ${ACCOUNTS} accounts, pushed to ${SERVERS} instances: each applied exactly once, none lost, none concurrent per account`, async () => {
    const run = uniqueId('e2e').replace(/[^a-zA-Z0-9-]/g, '-');
    const audits: Subscription[] = [];
    const delivery = {
      ackDeadlineSeconds: 30,
      retryPolicy: {
        minimumBackoff: {seconds: 1},
        maximumBackoff: {seconds: 10},
      },
    };
    const topics = await Promise.all(
      Array.from({length: SERVERS}, async (_, instance) => {
        const port = await freePort();
        ports.push(port);
        const baseUrl = `http://127.0.0.1:${port}`;
        const retry = await topicPushingTo(
          pubsub,
          `retry-${run}-${instance}`,
          baseUrl,
          delivery,
        );
        servers.push(
          startExampleWorkerServer(
            port,
            {
              DATASTORE_EMULATOR_HOST: firestore?.host(),
              GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
              EXAMPLE_WORKER_WORK_MS: '300',
              EXAMPLE_RETRY_TOPIC: retry.topic,
            },
            output,
          ),
        );
        await waitForHttp(port);
        const work = await topicPushingTo(
          pubsub,
          `work-${run}-${instance}`,
          baseUrl,
          delivery,
        );
        const [audit] = await pubsub
          .topic(work.topic)
          .createSubscription(`audit-${run}-${instance}`, {
            ackDeadlineSeconds: 30,
          });
        audits.push(audit);
        return work.publisher;
      }),
    );

    // The framework's own body errors come back as JSON here too: the patch reached its app.
    const malformed = await fetch(`http://127.0.0.1:${ports[0]}/`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: '{"oops',
    });
    assert.equal(malformed.status, 400);
    assert.deepEqual(
      ((await malformed.json()) as {error: string}).error,
      'invalid_request',
    );

    const expected = new Map<string, number>();
    await Promise.all(
      Array.from({length: MESSAGES}, (_, i) => {
        const account = `${run}-account-${i % ACCOUNTS}`;
        expected.set(account, (expected.get(account) ?? 0) + i + 1);
        // Each account's messages are spread over every instance, so they contend across processes.
        return (topics[i % SERVERS] as (typeof topics)[number]).publishMessage({
          json: {account, amount: i + 1, eventId: `${run}-event-${i}`},
        });
      }),
    );

    const db = firestore?.client();
    assert.ok(db);
    const ledger = ledgerReader(DEFAULT_STRONG_TARGET);
    // Each event adds its own amount (i + 1): an account's sum matches only with every event once.
    const settledAccounts = async () => {
      let settled = 0;
      for (const [account, sum] of expected)
        if ((await ledger.balance(account)) === sum) settled++;
      return settled;
    };
    const publishedAt = Date.now();
    const deadline = Date.now() + 150_000;
    while ((await settledAccounts()) < expected.size && Date.now() < deadline)
      await delay(500);
    console.log(
      `      e2e: all applied ${Date.now() - publishedAt} ms after publishing`,
    );
    await delay(1000); // anything delivered twice would land now

    for (const [account, sum] of expected)
      assert.equal(
        await ledger.balance(account),
        sum,
        `${account}: every event applied once, no update lost, so no two messages ran at once for it`,
      );
    const audited = (
      await Promise.all(audits.map(audit => pull(audit, MESSAGES + 1, 3000)))
    ).flat();
    const auditedEvents = audited.map(
      message =>
        (JSON.parse(message.data.toString()) as {eventId: string}).eventId,
    );
    assert.equal(
      new Set(auditedEvents).size,
      MESSAGES,
      'the audit subscriptions saw every event',
    );
    assert.equal(
      auditedEvents.length,
      MESSAGES,
      'and each exactly once: re-queued copies went only to the retry topics',
    );
    const [duplicates] = await db.runQuery(
      db
        .createQuery(DUPLICATE_KIND)
        .filter(new PropertyFilter('eventId', '>=', run))
        .filter(new PropertyFilter('eventId', '<', `${run}~`)),
    );
    assert.equal(
      duplicates.length,
      0,
      'no message was delivered to the handler twice',
    );

    const entries = output.flatMap(line => {
      try {
        return [
          JSON.parse(line) as {
            outcome?: string;
            attempt?: number;
            message?: string;
          },
        ];
      } catch {
        return [];
      }
    });
    const count = (outcome: string) =>
      entries.filter(entry => entry.outcome === outcome).length;
    assert.equal(
      count('ran') + count('woken'),
      MESSAGES,
      'the handler ran once per message: on arrival, or woken from the waiting room',
    );
    // A contended message parks in its account's waiting room; each release hands the lock on.
    const contended = count('parked');
    const handOffs = entries.filter(entry =>
      entry.message?.includes('handed the lock on'),
    ).length;
    const publishes = handOffs + count('requeued');
    const extraInvocations = publishes + count('early');
    // The work inside the lock (300 ms) means instances that meet on an account contend.
    assert.ok(contended > 0, 'some messages met a held lock');
    console.log(
      `      e2e: ${MESSAGES} messages, ${MESSAGES + extraInvocations} invocations, ${publishes} publishes (${handOffs} wake-ups, ${count('requeued')} re-queues), ${count('early')} early nacks, ` +
        `${contended} parked` +
        (contended
          ? `; per contended message: ${(publishes / contended).toFixed(2)} publishes, ${(1 + extraInvocations / contended).toFixed(2)} invocations`
          : ''),
    );
  });
});
