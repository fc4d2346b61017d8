import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  configureLocking,
  forceRelease,
  Lock,
  lock,
  LockAcquisitionError,
  LockError,
  LockKind,
  peek,
} from '../../shared';
import type {BackendFixture} from '../support/backend-fixtures';
import {delay, uniqueId} from '../support/ids';
import {RecordingLogger} from '../support/recording-logger';

/**
 * The behaviour every kind of lock promises, the same on every backend: djangae's own locking
 * tests first, then what this library adds. Built per fixture: lock-contract.test.ts runs it on
 * every store, test/unit/memory-contract.test.ts on the in-memory backend.
 */
export function describeLockContract(fixture: BackendFixture): void {
  describe(`lock contract: ${fixture.name}`, () => {
    const kind = fixture.kind;
    // The kind is the capability: STRONG grants carry a fence, WEAK ones none (see FenceOf).
    const fenced: boolean = kind === LockKind.STRONG;
    const sandbox = sinon.createSandbox();
    const logger = new RecordingLogger();

    before(() => configureLocking({...fixture.config(), logger}));
    afterEach(() => sandbox.restore());
    after(() => configureLocking());

    describe("djangae's tests", () => {
      it('acquires and releases', async () => {
        const id = uniqueId('acquire-release');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held, 'an uncontended acquire succeeds');
        assert.equal(held.identifier, id);
        assert.equal(held.kind, kind);
        assert.equal((await peek(id, {kind}))?.holderId, held.holderId);
        assert.equal(await held.release(), true);
        assert.equal(await peek(id, {kind}), null);
      });

      it('bails with wait: false while held, and succeeds after release', async () => {
        const id = uniqueId('bail');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        assert.equal(await Lock.acquire(id, {kind, wait: false}), null);
        assert.equal(await held.release(), true);
        const next = await Lock.acquire(id, {kind, wait: false});
        assert.ok(next, 'free again after release');
        await next.release();
      });

      it('run() throws LockAcquisitionError while held and runs after release', async () => {
        const id = uniqueId('run');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        let calls = 0;
        await assert.rejects(
          lock(id, {kind, wait: false}).run(() => calls++),
          (error: unknown) =>
            error instanceof LockAcquisitionError && error.identifier === id,
        );
        assert.equal(calls, 0);
        await held.release();
        assert.equal(await lock(id, {kind, wait: false}).run(() => ++calls), 1);
        assert.equal(await peek(id, {kind}), null, 'run() released the lock');
      });

      it('wrap() returns undefined without calling the function while held, and calls it after release', async () => {
        const id = uniqueId('wrap');
        const calls: string[] = [];
        const wrapped = lock(id, {kind, wait: false}).wrap(
          (a: string, b: number) => {
            calls.push(`${a}${b}`);
            return `${a}:${b}`;
          },
        );
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        assert.equal(await wrapped('x', 1), undefined);
        assert.deepEqual(calls, []);
        await held.release();
        assert.equal(await wrapped('y', 2), 'y:2');
        assert.deepEqual(calls, ['y2']);
        assert.equal(await peek(id, {kind}), null, 'wrap() released the lock');
      });

      it('steals a lock held longer than stealAfterMs, through run()', async () => {
        const id = uniqueId('steal-run');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        await delay(60);
        const result = await lock(id, {
          kind,
          wait: false,
          stealAfterMs: 10,
        }).run(async () => {
          assert.notEqual(
            (await peek(id, {kind}))?.holderId,
            held.holderId,
            'the thief holds it inside run()',
          );
          return 'ran';
        });
        assert.equal(result, 'ran');
      });

      it('steals a lock held longer than stealAfterMs, through wrap()', async () => {
        const id = uniqueId('steal-wrap');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        await delay(60);
        assert.equal(
          await lock(id, {kind, wait: false, stealAfterMs: 10}).wrap(
            () => 'ran',
          )(),
          'ran',
        );
      });

      it('gives up after waitForMs without stealing a lock younger than stealAfterMs', async () => {
        const id = uniqueId('wait-for');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        const started = Date.now();
        assert.equal(
          await Lock.acquire(id, {kind, waitForMs: 100, stealAfterMs: 60_000}),
          null,
        );
        assert.ok(
          Date.now() - started >= 100,
          'it waited for waitForMs before giving up',
        );
        assert.equal(
          (await peek(id, {kind}))?.holderId,
          held.holderId,
          'the holder still holds it',
        );
        await held.release();
      });

      it('counts a store contention error on a wait: false acquire as not acquired', async () => {
        const id = uniqueId('contention');
        fixture.injectContention(sandbox);
        assert.equal(await Lock.acquire(id, {kind, wait: false}), null);
        sandbox.restore();
        assert.equal(await peek(id, {kind}), null, 'nothing was written');
      });
    });

    describe('beyond djangae', () => {
      it('release() after a steal returns false and leaves the thief holding the lock', async () => {
        const id = uniqueId('stolen');
        const victim = await Lock.acquire(id, {kind});
        assert.ok(victim);
        await delay(60);
        const thief = await Lock.acquire(id, {
          kind,
          wait: false,
          stealAfterMs: 10,
        });
        assert.ok(thief, 'the stale lock was stolen');
        assert.notEqual(thief.token, victim.token);
        assert.equal(await victim.release(), false);
        assert.equal(
          (await peek(id, {kind}))?.holderId,
          thief.holderId,
          "the thief's lock is untouched",
        );
        assert.equal(await thief.release(), true);
      });

      it('a second release() returns false', async () => {
        const held = await Lock.acquire(uniqueId('twice'), {kind});
        assert.ok(held);
        assert.equal(await held.release(), true);
        assert.equal(await held.release(), false);
      });

      it('await using releases at the end of the block', async () => {
        const id = uniqueId('using');
        {
          await using held = await Lock.acquire(id, {kind});
          assert.ok(held);
          assert.equal((await peek(id, {kind}))?.holderId, held.holderId);
        }
        assert.equal(await peek(id, {kind}), null);
      });

      it('a waiter gets the lock once the holder releases it', async () => {
        const id = uniqueId('waiter');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        const waiter = Lock.acquire(id, {kind, waitForMs: 10_000});
        await delay(50);
        await held.release();
        const next = await waiter;
        assert.ok(next, 'the waiter acquired it');
        assert.equal((await peek(id, {kind}))?.holderId, next.holderId);
        await next.release();
      });

      it('works with an identifier of 1,500 bytes of non-ASCII text, and refuses 1,501', async () => {
        const id = '锁'.repeat(500);
        assert.equal(Buffer.byteLength(id), 1500);
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        assert.equal((await peek(id, {kind}))?.identifier, id);
        assert.equal(await held.release(), true);
        await assert.rejects(
          Lock.acquire(`${id}x`, {kind}),
          (error: unknown) =>
            error instanceof LockError && error.code === 'INVALID_ARGUMENT',
        );
      });

      it('keeps identifiers that differ only slightly apart', async () => {
        const base = uniqueId('case');
        const a = await Lock.acquire(`${base}:Ab`, {kind, wait: false});
        const b = await Lock.acquire(`${base}:AB`, {kind, wait: false});
        assert.ok(a && b, 'case-different identifiers are different locks');
        await Promise.all([a.release(), b.release()]);
      });

      it('peek() shows the holder with its steal deadline', async () => {
        const id = uniqueId('peek');
        const held = await Lock.acquire(id, {kind, stealAfterMs: 60_000});
        assert.ok(held);
        const seen = await peek(id, {kind});
        assert.ok(seen);
        assert.equal(seen.holderId, held.holderId);
        assert.equal(
          'token' in seen,
          false,
          'peek never shows the release credential',
        );
        assert.equal(seen.acquiredAt.getTime(), held.acquiredAt.getTime());
        assert.equal(
          seen.expiresAt?.getTime(),
          held.acquiredAt.getTime() + 60_000,
        );
        await held.release();
      });

      it("forceRelease() removes another holder's lock, logs what it removed without the token, and wakes waiters", async () => {
        const id = uniqueId('force');
        const held = await Lock.acquire(id, {kind});
        assert.ok(held);
        const waiter = Lock.acquire(id, {kind, waitForMs: 5_000});
        logger.entries.length = 0;
        const removed = await forceRelease(id, {kind});
        assert.equal(removed?.holderId, held.holderId);
        assert.equal(removed?.fence, held.fence);
        const logged = logger.entries.filter(entry =>
          entry.message.includes('forceRelease'),
        );
        assert.equal(logged.length, 1);
        const [entry] = logged;
        assert.equal(entry?.level, 'warn');
        assert.equal(entry?.fields.holderId, held.holderId);
        assert.equal(entry?.fields.identifier, id);
        assert.ok(
          !logger.text().includes(held.token),
          'the token is never logged',
        );
        const next = await waiter;
        assert.ok(next, 'a waiter gets the force-released lock');
        assert.equal(
          await held.release(),
          false,
          'the old holder learns it no longer holds the lock',
        );
        assert.equal(
          (await peek(id, {kind}))?.holderId,
          next.holderId,
          "the old holder's release left the new lock alone",
        );
        await next.release();
        assert.equal(
          await forceRelease(id, {kind}),
          null,
          'a free lock: nothing to remove',
        );
      });

      if (!fenced) {
        it('grants carry no fence, and peek shows none', async () => {
          const id = uniqueId('no-fence');
          const held = await Lock.acquire(id, {kind});
          assert.ok(held);
          assert.equal(held.fence, undefined);
          assert.equal((await peek(id, {kind}))?.fence, undefined);
          await held.release();
        });
      }

      if (fenced) {
        it('the fence strictly increases across grants: release, re-acquire and steal', async () => {
          const id = uniqueId('fence');
          const fences: bigint[] = [];
          for (let i = 0; i < 3; i++) {
            const held = await Lock.acquire(id, {kind});
            assert.ok(held);
            assert.equal(typeof held.fence, 'bigint');
            fences.push(held.fence as bigint);
            await held.release();
          }
          const stale = await Lock.acquire(id, {kind});
          assert.ok(stale);
          fences.push(stale.fence as bigint);
          await delay(30);
          const thief = await Lock.acquire(id, {
            kind,
            wait: false,
            stealAfterMs: 10,
          });
          assert.ok(thief);
          fences.push(thief.fence as bigint);
          assert.equal(
            (await peek(id, {kind}))?.fence,
            thief.fence,
            'peek reports the holder fence',
          );
          await thief.release();
          for (let i = 1; i < fences.length; i++) {
            assert.ok(
              (fences[i] as bigint) > (fences[i - 1] as bigint),
              `fence ${i} (${fences[i]}) > fence ${i - 1} (${fences[i - 1]})`,
            );
          }
        });
      }
    });
  });
}
