import {strict as assert} from 'node:assert';
import type {PubSub} from '@google-cloud/pubsub';
import {TEST_PROJECT} from '../support/global-setup';
import {pubsubClient} from '../support/pubsub-fixtures';
import {STRONG_TARGETS, type StrongTarget} from '../support/strong-targets';
import {appliedLedger} from '../support/worker-applied';
import {workerStoreEnv} from '../support/worker-ledger';
import {
  roomFailedWakeUp,
  roomHolderKilled,
  roomOrder,
  roomPubSubRestart,
  type RoomResult,
} from '../reliability/waiting-room';
import type {RoomStore} from '../reliability/waiting-room-rig';

const LEGACY = STRONG_TARGETS[0] as StrongTarget;
const FIRESTORE_NATIVE = STRONG_TARGETS[2] as StrongTarget;

/** Runs `scenario` on `target`'s store, prints what it measured, and fails with its details. */
async function check(
  target: StrongTarget,
  scenario: (store: RoomStore) => Promise<RoomResult>,
): Promise<void> {
  const store: RoomStore = {
    name: target.name,
    env: workerStoreEnv(target),
    ledger: appliedLedger(target.config()),
  };
  let result: RoomResult;
  try {
    result = await scenario(store);
  } finally {
    await store.ledger.close();
  }
  for (const line of [result.size, result.lost, ...result.details])
    console.log(`      ${line}`);
  assert.ok(result.passed, [result.lost, ...result.details].join('\n'));
}

/**
 * End to end, issue 22's "Order" and "Nothing lost, nothing twice": the waiting room with real
 * processes (the ordered worker, test/support/worker-ordered.ts, on Functions Framework servers
 * fed by Pub/Sub push), every message on one account. The scenarios live in
 * test/reliability/waiting-room.ts, which `npm run reliability` runs larger. The legacy Datastore
 * emulator and Firestore native mode (the Firestore-in-Datastore-mode emulator ignores
 * preconditions: see the contract suite); the Pub/Sub restart, with its own emulator, on the
 * legacy one only, to keep the suite short.
 */
for (const target of [LEGACY, FIRESTORE_NATIVE])
  describe(`end to end: the waiting room on the ${target.name}`, function () {
    this.timeout(90_000);
    let pubsub: PubSub;
    before(() => {
      pubsub = pubsubClient();
    });
    after(async () => {
      await pubsub.close();
    });

    it('messages parked on one key are applied in park order, each exactly once', async () => {
      await check(target, store =>
        roomOrder(
          store,
          {client: pubsub},
          {events: 20, instances: 3, holdMs: 3000, budgetMs: 40_000},
        ),
      );
    });

    it('a holder SIGKILLed with 20 messages parked: its lease (2 s) ends and the next arrival dispatches the rest, each exactly once', async () => {
      await check(target, store =>
        roomHolderKilled(
          store,
          {client: pubsub},
          {parked: 20, leaseMs: 2000, handOffLeaseMs: 2000, budgetMs: 40_000},
        ),
      );
    });

    it("a wake-up whose publish fails: the hand-off lease (2 s) lapses and cleanup's sweep dispatches it again, each exactly once", async () => {
      await check(target, store =>
        roomFailedWakeUp(
          store,
          {client: pubsub},
          {
            parked: 10,
            instances: 2,
            handOffLeaseMs: 2000,
            cleanupEveryMs: 1000,
            budgetMs: 40_000,
          },
        ),
      );
    });

    if (target === LEGACY)
      it('the Pub/Sub emulator restarted in the middle of a burst: every message applied exactly once', async () => {
        await check(target, store =>
          roomPubSubRestart(store, TEST_PROJECT, {
            events: 20,
            secondWave: 5,
            instances: 2,
            workMs: 100,
            downMs: 2000,
            handOffLeaseMs: 2000,
            cleanupEveryMs: 1000,
            budgetMs: 40_000,
          }),
        );
      });
  });
