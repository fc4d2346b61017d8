import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import {
  configureLocking,
  Lock,
  LockKind,
  peek,
  type LockingConfig,
} from '../../shared';
import {startNodeChild} from '../reliability/child-process';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {uniqueId} from '../support/ids';
import {memcacheClient, memcacheHost} from '../support/memcache-target';

/**
 * Long enough that the test can pause the holder between its grant and its first renewal (a third
 * of the lease later): a pause inside a Firestore-mode renewal transaction would hold the entity's
 * lock while paused, which is another fault than the one this test is about.
 */
const LEASE_MS = 1200;
/** "Within about one renewal interval": generous, since this checks correctness, not speed. */
const LOSS_NOTICED_WITHIN_MS = LEASE_MS + 1000;

interface Store {
  readonly name: string;
  readonly kind: LockKind;
  config(): LockingConfig;
  /** How the holder process finds the same store, as a Cloud Function would: its environment. */
  childEnv(): NodeJS.ProcessEnv;
}

const STORES: readonly Store[] = [
  ...DATASTORE_TARGETS.map(target => ({
    name: `STRONG on the ${target.name}`,
    kind: LockKind.STRONG,
    config: () => ({datastore: target.client()}),
    childEnv: () => ({DATASTORE_EMULATOR_HOST: target.host()}),
  })),
  {
    name: 'WEAK on memcached',
    kind: LockKind.WEAK,
    config: () => ({memcache: memcacheClient()}),
    childEnv: () => ({MEMCACHE_SERVERS: memcacheHost()}),
  },
];

interface HolderEvent {
  readonly event: 'acquired' | 'lost' | 'released';
  readonly at: number;
  readonly acquiredAt?: number;
  readonly holderId?: string;
  readonly fence?: string;
  readonly code?: string;
  readonly released?: boolean;
}
const isEvent =
  (name: HolderEvent['event']) =>
  (line: unknown): line is HolderEvent =>
    (line as HolderEvent)?.event === name;

/**
 * A holder process whose lease renews in the background is paused (SIGSTOP) past its lease, as a
 * long GC pause or a frozen instance would be: it cannot renew, so its lease expires and a plain
 * acquire takes the lock. Resumed (SIGCONT), the holder must learn of the loss by itself, from
 * its next renewal, and must not disturb the new holder.
 */
describe('a holder process paused past its lease (SIGSTOP, then SIGCONT)', function () {
  this.timeout(60_000);

  afterEach(() => configureLocking());

  for (const store of STORES) {
    it(`${store.name}: taken over after the lease; once resumed its signal aborts within about a renewal interval, its release() is false, and the new holder keeps the lock`, async () => {
      configureLocking(store.config());
      const identifier = uniqueId('lease-pause');
      const holder = startNodeChild(
        join(__dirname, '../support/lease-holder.js'),
        [],
        {
          ...process.env,
          ...store.childEnv(),
          IDENTIFIER: identifier,
          KIND: store.kind,
          LEASE_MS: String(LEASE_MS),
        },
      );
      try {
        const acquired = await holder.lineWhere(isEvent('acquired'), 30_000);
        holder.kill('SIGSTOP');

        const taker = await Lock.acquire(identifier, {
          kind: store.kind,
          waitForMs: LEASE_MS * 10,
        });
        assert.ok(
          taker,
          `a plain acquire takes the lock once the paused holder's ${LEASE_MS} ms lease has run out`,
        );
        assert.ok(
          taker.acquiredAt.getTime() >=
            (acquired.acquiredAt as number) + LEASE_MS,
          `taken ${taker.acquiredAt.getTime() - (acquired.acquiredAt as number)} ms after the paused holder's grant, before its lease ran out`,
        );
        if (store.kind === LockKind.STRONG) {
          assert.ok(
            taker.fence !== undefined &&
              taker.fence > BigInt(acquired.fence as string),
            `the new fence ${String(taker.fence)} is above the paused holder's ${acquired.fence}`,
          );
        }

        holder.kill('SIGCONT');
        const resumedAt = Date.now();
        const lost = await holder.lineWhere(
          isEvent('lost'),
          LOSS_NOTICED_WITHIN_MS + 10_000,
        );
        assert.equal(lost.code, 'LOCK_LOST');
        assert.ok(
          lost.at - resumedAt < LOSS_NOTICED_WITHIN_MS,
          `the holder's signal aborted ${lost.at - resumedAt} ms after it resumed`,
        );
        const released = await holder.lineWhere(isEvent('released'), 10_000);
        assert.equal(
          released.released,
          false,
          "the old holder's release() answers false",
        );
        assert.equal(await holder.exited, 0, holder.stderr());

        assert.equal(
          (await peek(identifier, {kind: store.kind}))?.holderId,
          taker.holderId,
          'the new holder still holds the lock',
        );
        assert.equal(
          await taker.renew(),
          true,
          "the new holder's lock is its own to renew",
        );
        assert.equal(await taker.release(), true);
      } finally {
        holder.kill('SIGKILL');
      }
    });
  }
});
