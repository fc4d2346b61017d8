import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {ACCOUNT_KIND, APPLIED_EVENT_KIND} from '../../functions/example-worker';
import {LOCAL_PROJECT} from '../../infra/local/project';
import {workerPushEndpoint} from '../../infra/local/local-pubsub';
import {configureLocking, listLocks, LockKind} from '../../shared';
import type {} from '../../shared/stores/valkey';
import {delay} from '../support/ids';
import {startLocalStack, type LocalStack} from '../support/stack-process';
import {valkeyClient} from '../support/valkey-target';

/** Each account's events: distinct powers of two, so any lost update leaves a sum no other loss gives. */
const AMOUNTS = [1, 2, 4, 8, 16, 32];
const EXPECTED_BALANCE = AMOUNTS.reduce((sum, amount) => sum + amount, 0);
const ACCOUNTS = 4;
/** Topics pushed to the worker; prime to ACCOUNTS, so each lane carries every account. */
const LANES = 3;
/** Between the worker's read of a balance and its write: long enough that two overlapping runs of an account lose an update. */
const WORK_MS = 150;

/**
 * The example worker as a WEAK lockedHandler (EXAMPLE_WORKER_KIND=WEAK) in `npm start --weak-store
 * valkey`: its balances are a plain read, a pause and a write, so only the WEAK lock on the
 * stack's Valkey keeps two runs of one account apart. A burst on a few accounts (each event's
 * first delivery and a duplicate) must leave every balance the exact sum of its events.
 */
describe('end to end: a WEAK lockedHandler on Valkey through npm start', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'valkey-worker-'));
  let stack: LocalStack | undefined;
  after(async () => {
    configureLocking();
    await stack?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  it('applies every event exactly once per account, the account lock visible on Valkey while held and gone after', async () => {
    stack = await startLocalStack(dir, 90_000, {
      args: ['--weak-store', 'valkey'],
      env: {EXAMPLE_WORKER_KIND: 'WEAK', EXAMPLE_WORKER_WORK_MS: `${WORK_MS}`},
    });
    const {ports} = stack;
    assert.match(
      stack.readyLine,
      new RegExp(`LOCKS_VALKEY_URL=redis://127\\.0\\.0\\.1:${ports.valkey}`),
    );
    // Seen from here, straight from the stack's Valkey server.
    configureLocking({valkey: valkeyClient(`127.0.0.1:${ports.valkey}`)});
    const run = randomUUID().slice(0, 8);
    const accounts = Array.from({length: ACCOUNTS}, (_, i) => `vk-${run}-${i}`);
    const events = AMOUNTS.flatMap((amount, i) =>
      accounts.map(account => ({account, amount, eventId: `${account}-e${i}`})),
    );
    const duplicates = accounts.map(account =>
      events.find(event => event.account === account)!,
    );
    // The emulator pushes one message at a time per subscription (see push-dispatcher.ts): lanes,
    // each a topic pushed to the worker, put several runs of one account in flight at once.
    const pubsub = `http://127.0.0.1:${ports.pubsub}/v1/projects/${LOCAL_PROJECT}`;
    const lanes = Array.from({length: LANES}, (_, i) => `vk-${run}-lane-${i}`);
    for (const lane of lanes) {
      await rest('PUT', `${pubsub}/topics/${lane}`, {});
      await rest('PUT', `${pubsub}/subscriptions/${lane}`, {
        topic: `projects/${LOCAL_PROJECT}/topics/${lane}`,
        ackDeadlineSeconds: 60,
        pushConfig: {
          pushEndpoint: workerPushEndpoint(stack.baseUrl, LOCAL_PROJECT, lane),
        },
      });
    }
    const burst = [...events, ...duplicates];
    await Promise.all(
      lanes.map((lane, i) =>
        rest('POST', `${pubsub}/topics/${lane}:publish`, {
          messages: burst
            .filter((_, j) => j % LANES === i)
            .map(event => ({
              data: Buffer.from(JSON.stringify(event)).toString('base64'),
            })),
        }),
      ),
    );
    const publishedAt = Date.now();

    const db = new Datastore({
      projectId: LOCAL_PROJECT,
      apiEndpoint: `127.0.0.1:${ports.datastore}`,
    });
    const appliedKeys = events.map(event =>
      db.key([APPLIED_EVENT_KIND, event.eventId]),
    );
    const prefix = `account:vk-${run}-`;
    const seenHeld = new Map<string, {holderId: string; leaseMs?: number}>();
    const refused = (eventId: string) =>
      new RegExp(`event delivered again.*"eventId":"${eventId}"`).test(
        stack?.output() ?? '',
      );
    let applied = 0;
    let duplicatesRefused = 0;
    for (
      const deadline = Date.now() + 60_000;
      (applied < events.length || duplicatesRefused < duplicates.length) &&
      Date.now() < deadline;
      await delay(50)
    ) {
      for (const lock of await listLocks({kind: LockKind.WEAK, prefix}))
        seenHeld.set(`${lock.identifier} ${lock.holderId}`, {
          holderId: lock.holderId,
          ...(lock.leaseMs === undefined ? {} : {leaseMs: lock.leaseMs}),
        });
      const [found] = await db.get(appliedKeys);
      applied = found.length;
      duplicatesRefused = duplicates.filter(({eventId}) =>
        refused(eventId),
      ).length;
    }
    const outcomes = new Map<string, number>();
    for (const line of stack.output().split('\n'))
      if (line.includes(`"identifier":"account:vk-${run}-`)) {
        const outcome = /"outcome":"([a-z_]+)"/.exec(line)?.[1] ?? 'other';
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    console.log(
      `      e2e: ${events.length} events (+${duplicates.length} duplicates) on ${LANES} lanes applied ${Date.now() - publishedAt} ms after publishing; ${seenHeld.size} grants seen on Valkey; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
    assert.equal(outcomes.get('parked'), undefined, 'WEAK: no waiting room');
    assert.equal(applied, events.length, 'every event applied');

    const balances = await Promise.all(
      accounts.map(async account => {
        const [entity] = await db.get(db.key([ACCOUNT_KIND, account]));
        return (entity as {balance?: number} | undefined)?.balance;
      }),
    );
    assert.deepEqual(
      balances,
      accounts.map(() => EXPECTED_BALANCE),
      'each balance is the sum of its events: no two runs of an account overlapped, no event applied twice',
    );
    assert.equal(
      duplicatesRefused,
      duplicates.length,
      'every duplicate was delivered, and applied nothing',
    );
    assert.ok(
      seenHeld.size > 0,
      'an account lock was seen on Valkey while held',
    );
    for (const held of seenHeld.values())
      assert.equal(held.leaseMs, 30_000, "with the worker's lease");

    let left = await listLocks({kind: LockKind.WEAK, prefix});
    for (
      const deadline = Date.now() + 5_000;
      left.length > 0 && Date.now() < deadline;
      await delay(100)
    )
      left = await listLocks({kind: LockKind.WEAK, prefix});
    assert.deepEqual(
      left.map(lock => lock.identifier),
      [],
      'every account lock released',
    );
  });
});

async function rest(method: string, url: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method,
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(
    response.status,
    200,
    `${method} ${url}: ${await response.text()}`,
  );
}
