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

/** The legacy Datastore emulator and Firestore native mode: the stores with a waiting room. */
const TARGETS = [STRONG_TARGETS[0], STRONG_TARGETS[2]] as StrongTarget[];

function roomStore(target: StrongTarget): RoomStore {
  return {
    name: target.name,
    env: workerStoreEnv(target),
    ledger: appliedLedger(target.config()),
  };
}

function check(result: RoomResult): void {
  for (const line of [result.size, result.lost, ...result.details])
    console.log(`      ${line}`);
  assert.ok(result.passed, [result.lost, ...result.details].join('\n'));
}

/**
 * End to end, issue 22's "Order" and "Nothing lost, nothing twice": the waiting room with real
 * processes (the ordered worker, test/support/worker-ordered.ts, on Functions Framework servers
 * fed by Pub/Sub push) on each store that has one. The scenarios live in
 * test/reliability/waiting-room.ts, which `npm run reliability` runs larger.
 */
for (const target of TARGETS)
  describe(`end to end: the waiting room on the ${target.name}`, function () {
    this.timeout(90_000);
    let pubsub: PubSub;
    before(() => {
      pubsub = pubsubClient();
    });
    after(async () => {
      await pubsub.close();
    });

    it('messages parked on one key are applied in park order, each exactly once, by hand-offs alone', async () => {
      check(
        await roomOrder(
          roomStore(target),
          {client: pubsub},
          {
            events: 20,
            instances: 3,
            holdMs: 3000,
            budgetMs: 40_000,
          },
        ),
      );
    });

    it('a holder SIGKILLed with 20 messages parked: its lease ends and the next arrival dispatches the rest, each exactly once', async () => {
      check(
        await roomHolderKilled(
          roomStore(target),
          {client: pubsub},
          {
            parked: 20,
            leaseMs: 2000,
            handOffLeaseMs: 2000,
            budgetMs: 40_000,
          },
        ),
      );
    });

    it("a wake-up whose publish fails: the hand-off lease lapses and cleanup's sweep dispatches it again, each exactly once", async () => {
      check(
        await roomFailedWakeUp(
          roomStore(target),
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

    it('the Pub/Sub emulator restarted in the middle of a burst: every message applied exactly once', async () => {
      check(
        await roomPubSubRestart(roomStore(target), TEST_PROJECT, {
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
