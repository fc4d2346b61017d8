import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import sinon from 'sinon';
import type {LockRecord} from '../../shared';
import * as backoff from '../../shared/core/backoff';
import {BackendCallError} from '../../shared/core/errors';
import {FirestoreCalls} from '../../shared/stores/firestore/firestore-calls';
import type {
  HandOffGrant,
  ParkedRecord,
  ParkOutcome,
} from '../../shared/waiting-room/types';
import {delay, uniqueId} from '../support/ids';
import {STRONG_TARGETS, type StrongTarget} from '../support/strong-targets';
import {
  handOffGrant,
  messageNo,
  waitingRoomFixture,
  type WaitingRoomFixture,
} from '../support/waiting-room-fixture';

/** Every FirestoreCalls method is one RPC (getAll: one BatchGetDocuments for all its documents). */
const CALLS = [
  'get',
  'getAll',
  'query',
  'commit',
  'create',
  'update',
  'delete',
] as const;

/**
 * What the Firestore native waiting room adds to the shared contract (waiting-room-contract.ts):
 * its round trips per operation, parks that never lengthen a holder's lease on the store's clock
 * (they write the lock, but not its `signedAt`), retries of a park or a hand-off whose commit
 * landed unseen, parks racing one another, and a waiter woken by the listener when a lock is
 * left vacant.
 */
describe('Firestore native waiting room', function () {
  this.timeout(30_000);
  const target = STRONG_TARGETS.find(
    candidate => candidate.store === 'firestore',
  ) as StrongTarget;
  let config: ReturnType<StrongTarget['config']>;
  let f: WaitingRoomFixture;
  let id: string;

  before(async () => {
    // One client for every test, its channel warmed: a fresh channel's first call can outlast a deadline on a busy machine.
    config = target.config();
    const warm = await waitingRoomFixture(config, 'fwr-warm-up');
    for (let tries = 0; ; tries++) {
      try {
        await warm.room.parked('warm-up', 1);
        break;
      } catch (error) {
        if (tries >= 5) throw error;
      }
    }
  });
  beforeEach(async () => {
    f = await waitingRoomFixture(config, uniqueId('fwr').replace(/:/g, '-'));
    id = uniqueId('fwr-lock');
  });
  afterEach(() => sinon.restore());

  async function hold(leaseMs?: number): Promise<LockRecord> {
    const outcome = await f.backend.tryAcquire({
      identifier: id,
      token: `holder-${randomUUID()}`,
      ...(leaseMs === undefined ? {} : {leaseMs}),
    });
    assert.ok(outcome.acquired);
    return outcome.record;
  }

  function park(
    n: number,
    parkId = `park-${n}-${randomUUID()}`,
    grant: HandOffGrant = handOffGrant(),
  ): Promise<ParkOutcome> {
    return f.room.park({
      identifier: id,
      message: messageNo(n),
      parkId,
      maxDepth: 1000,
      handOff: grant,
    });
  }

  /** RPCs made by `call`, by FirestoreCalls method. */
  async function rpcsOf(call: () => Promise<unknown>): Promise<string[]> {
    const made: string[] = [];
    const spies = CALLS.map(name => {
      const spy = sinon.spy(FirestoreCalls.prototype, name);
      return {name, spy};
    });
    try {
      await call();
    } finally {
      for (const {name, spy} of spies) {
        for (let i = 0; i < spy.callCount; i++) made.push(name);
        spy.restore();
      }
    }
    return made.sort();
  }

  it('round trips of each operation', async () => {
    const counts: Record<string, string[]> = {};
    const count = async (what: string, call: () => Promise<unknown>) => {
      counts[what] = await rpcsOf(call);
    };
    await count("park on a free lock ('free')", () => park(0));
    const holder = await hold();
    await count('park on a held lock', () => park(0));
    await count('park on a held lock, again', () => park(1));
    await count('parked(identifier)', () => f.room.parked(id, 10));
    let dispatch: ParkedRecord | undefined;
    await count('handOff to the head', async () => {
      const out = await f.room.handOff({
        identifier: id,
        token: holder.token,
        handOff: handOffGrant(),
      });
      assert.ok(out.released && out.dispatch);
      dispatch = out.dispatch;
    });
    const token = `claimer-${randomUUID()}`;
    await count('claim', async () => {
      const out = await f.room.claim({
        identifier: id,
        seq: 0,
        parkId: (dispatch as ParkedRecord).parkId,
        token,
        leaseMs: 60_000,
      });
      assert.ok(out.claimed);
    });
    await count('plain release with messages parked (vacates)', async () =>
      assert.equal(await f.backend.release(id, token), 'released'),
    );
    await count('park on a vacant lock (parks and hands to the head)', () =>
      park(2),
    );
    const other = `${id}-other`;
    const vacated = await f.backend.tryAcquire({identifier: other, token: 't'});
    assert.ok(vacated.acquired);
    await f.room.park({
      identifier: other,
      message: messageNo(9),
      parkId: 'p9',
      maxDepth: 10,
      handOff: handOffGrant(),
    });
    assert.equal(await f.backend.release(other, 't'), 'released');
    await count('sweep (one lock to hand on)', async () => {
      const swept = await f.room.sweep({
        now: new Date(Date.now() + 50),
        handOff: () => handOffGrant(),
      });
      assert.equal(swept.length, 1);
    });
    const fresh = `${id}-fresh`;
    const granted = await f.backend.tryAcquire({
      identifier: fresh,
      token: 'f',
    });
    assert.ok(granted.acquired);
    await count('handOff fast path (revision, empty room)', async () => {
      const out = await f.room.handOff({
        identifier: fresh,
        token: 'f',
        revision: granted.record.revision,
        handOff: handOffGrant(),
      });
      assert.ok(out.released && !out.dispatch);
    });
    const again = await f.backend.tryAcquire({identifier: fresh, token: 'g'});
    assert.ok(again.acquired);
    await count('handOff with park on an empty room (dispatches itself)', () =>
      f.room.handOff({
        identifier: fresh,
        token: 'g',
        handOff: handOffGrant(),
        park: {message: messageNo(5), parkId: 'own'},
      }),
    );
    const drained = `${id}-drained`;
    const drainer = await f.backend.tryAcquire({
      identifier: drained,
      token: 'd',
    });
    assert.ok(drainer.acquired);
    for (const n of [6, 7])
      await f.room.park({
        identifier: drained,
        message: messageNo(n),
        parkId: `p${n}`,
        maxDepth: 10,
        handOff: handOffGrant(),
      });
    await count(
      'handOff with claimNext and the right headHint (drain in place)',
      async () => {
        const out = await f.room.handOff({
          identifier: drained,
          token: 'd',
          handOff: handOffGrant(),
          claimNext: {token: 'd2', leaseMs: 60_000},
          headHint: 0,
        });
        assert.ok(out.released && out.claimed?.parked.seq === 0);
      },
    );
    console.log(
      Object.entries(counts)
        .map(([what, rpcs]) => `      ${what}: ${rpcs.length} (${rpcs})`)
        .join('\n'),
    );
    assert.deepEqual(counts, {
      "park on a free lock ('free')": ['get'],
      'park on a held lock': ['commit', 'get'],
      'park on a held lock, again': ['commit', 'get'],
      'parked(identifier)': ['query'],
      'handOff to the head': ['commit', 'get', 'get'],
      claim: ['commit', 'getAll'],
      'plain release with messages parked (vacates)': ['get', 'update'],
      'park on a vacant lock (parks and hands to the head)': [
        'commit',
        'get',
        'get',
      ],
      'sweep (one lock to hand on)': ['commit', 'get', 'query'],
      'handOff fast path (revision, empty room)': ['delete'],
      'handOff with park on an empty room (dispatches itself)': [
        'commit',
        'get',
      ],
      'handOff with claimNext and the right headHint (drain in place)': [
        'commit',
        'getAll',
      ],
    });
  });

  const LEASE_MS = 3_000;
  it("parks never lengthen the holder's lease: a park after it ended hands the lock on", async () => {
    await hold(LEASE_MS);
    const started = Date.now();
    let dispatched: ParkOutcome | undefined;
    // Parks every 100 ms: judged on the lock's update time, each would restart the lease.
    for (let n = 0; !dispatched && Date.now() - started < 4 * LEASE_MS; n++) {
      const outcome = await park(n);
      assert.equal(outcome.outcome, 'parked');
      if (outcome.outcome === 'parked' && outcome.dispatch)
        dispatched = outcome;
      else await delay(100);
    }
    assert.ok(dispatched, 'a park found the lease over and handed the lock on');
    assert.ok(
      Date.now() - started >= LEASE_MS,
      'not before the lease was over on this host either',
    );
  });

  it('a park retried after its commit landed is parked once, at the same seq (with the same dispatch)', async () => {
    await hold();
    const first = await park(0, 'same-park');
    const retry = await park(0, 'same-park');
    assert.deepEqual(retry, first);
    assert.deepEqual(
      (await f.room.parked(id, 10)).map(record => record.seq),
      [0],
    );
    const holder = (await f.backend.peek(id)) as LockRecord;
    assert.equal(await f.backend.release(id, holder.token), 'released');
    const grant = handOffGrant();
    const handing = await park(1, 'handing-park', grant);
    const handingRetry = await park(1, 'handing-park', grant);
    assert.ok(handing.outcome === 'parked' && handing.dispatch?.seq === 0);
    assert.ok(
      handingRetry.outcome === 'parked' &&
        handingRetry.seq === handing.seq &&
        handingRetry.dispatch?.parkId === handing.dispatch.parkId,
      `the retry answers as the park did: ${JSON.stringify({...handingRetry, dispatch: undefined})}`,
    );
  });

  it('a hand-off retried after its commit landed answers released, with the same dispatch', async () => {
    const holder = await hold();
    await park(0);
    await park(1);
    const request = {
      identifier: id,
      token: holder.token,
      handOff: handOffGrant(),
    };
    const first = await f.room.handOff(request);
    const retry = await f.room.handOff(request);
    assert.ok(first.released && retry.released);
    assert.equal(retry.dispatch?.seq, 0);
    assert.equal(retry.dispatch?.parkId, first.dispatch?.parkId);
  });

  it('parks racing one another all land, each at its own seq (a lost race reads again)', async () => {
    await hold();
    const parkRetried = async (n: number) => {
      for (let tries = 0; ; tries++) {
        try {
          return await park(n);
        } catch (error) {
          if (
            !(error instanceof BackendCallError) ||
            !error.contention ||
            tries > 10
          )
            throw error;
          await delay(5 + Math.random() * 20);
        }
      }
    };
    const outcomes = await Promise.all(
      Array.from({length: 6}, (_, n) => parkRetried(n)),
    );
    const seqs = outcomes.map(outcome =>
      outcome.outcome === 'parked' ? outcome.seq : -1,
    );
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      (await f.room.parked(id, 10)).map(record => record.seq),
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal((await f.backend.peek(id))?.waiting?.tail, 6);
  });

  it('a waiter is woken by the listener when the lock is left vacant', async () => {
    const holder = await hold();
    await park(0);
    sinon.stub(backoff, 'fullJitterDelayMs').returns(20_000);
    const waiter = f.locking.Lock.acquire(id, {waitForMs: 15_000});
    await delay(500);
    assert.equal(await f.backend.release(id, holder.token), 'released');
    const vacatedAt = Date.now();
    const next = await waiter;
    assert.ok(next, 'acquired');
    assert.ok(
      Date.now() - vacatedAt < 5_000,
      `acquired ${Date.now() - vacatedAt} ms after the lock was vacated, a 20 s backoff notwithstanding`,
    );
    const current = await f.backend.peek(id);
    assert.equal(current?.waiting?.tail, 1, 'the taker inherits the room');
    assert.equal(await f.backend.release(id, current.token), 'released');
  });
});
