import {strict as assert} from 'node:assert';
import type {Datastore} from '@google-cloud/datastore';
import {
  configureLocking,
  FENCE_PROPERTY,
  LockError,
  type EntityData,
} from '../../shared';
import {fencedUpdate} from '../../shared/stores/datastore';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {plainEntity} from '../support/fenced-store-view';
import {pausedWriterOutcome} from '../support/paused-fenced-writer';
import {uniqueId} from '../support/ids';

/** See lease-pause.test.ts: long enough to pause the holder before its first renewal. */
const LEASE_MS = 1200;

const isCode = (code: string) => (error: unknown) =>
  error instanceof LockError && error.code === code;

/** The stored entity as plain data (integers wrapped so a big fence stays exact), its fence apart. */
async function stored(
  datastore: Datastore,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const [entity] = await datastore.get(
    datastore.key(['FencedRegister', name]),
    {wrapNumbers: true},
  );
  return entity ? plainEntity(entity as Record<string, unknown>) : undefined;
}

for (const target of DATASTORE_TARGETS) {
  describe(`fencedUpdate on the ${target.name}`, function () {
    this.timeout(60_000);
    let datastore: Datastore;

    beforeEach(() => {
      datastore = target.client();
      configureLocking({datastore});
    });
    afterEach(() => configureLocking());

    it('creates the entity, passes update the current data without the fence, allows an equal or higher fence and refuses a lower one with STALE_FENCE, leaving the entity as it was', async () => {
      const name = uniqueId('register');
      const key = datastore.key(['FencedRegister', name]);
      const seen: (EntityData | undefined)[] = [];
      const add = (amount: number) => (current: EntityData | undefined) => {
        seen.push(current);
        return {value: Number(current?.value ?? 0) + amount};
      };

      assert.deepEqual(await fencedUpdate(datastore, key, 7n, add(1)), {
        value: 1,
      });
      assert.deepEqual(await stored(datastore, name), {value: 1, fence: '7'});
      await fencedUpdate(datastore, key, 7n, add(10));
      await fencedUpdate(datastore, key, 9n, add(100));
      assert.deepEqual(await stored(datastore, name), {value: 111, fence: '9'});
      assert.deepEqual(
        seen,
        [undefined, {value: 1}, {value: 11}],
        'update sees the data, never the fence property',
      );

      let called = false;
      await assert.rejects(
        fencedUpdate(datastore, key, 8n, () => {
          called = true;
          return {value: -1};
        }),
        (error: unknown) => {
          assert.ok(isCode('STALE_FENCE')(error), String(error));
          assert.match((error as Error).message, /fence 8\b.*fence 9\b/);
          return true;
        },
      );
      assert.equal(
        called,
        false,
        'a stale writer is refused before its update runs',
      );
      assert.deepEqual(await stored(datastore, name), {value: 111, fence: '9'});
    });

    it('keeps a fence above Number.MAX_SAFE_INTEGER exactly (Lock#fence is an int64)', async () => {
      const key = datastore.key(['FencedRegister', uniqueId('register')]);
      const big = 2n ** 62n + 1n;
      await fencedUpdate(datastore, key, big, () => ({value: 1}));
      await assert.rejects(
        fencedUpdate(datastore, key, big - 1n, () => ({value: 2})),
        isCode('STALE_FENCE'),
      );
      await fencedUpdate(datastore, key, big, () => ({value: 3}));
    });

    it("remembers the highest fence when the next holder deletes the entity or saves it without the fence: the stale holder's late write is refused STALE_FENCE", async () => {
      const name = uniqueId('register');
      const key = datastore.key(['FencedRegister', name]);
      await fencedUpdate(datastore, key, 9n, () => ({value: 1}));
      await datastore.save({key, data: {value: 2}});
      await assert.rejects(
        fencedUpdate(datastore, key, 8n, () => ({value: -1})),
        isCode('STALE_FENCE'),
        'after a plain save that dropped the fence property',
      );
      assert.deepEqual(await stored(datastore, name), {value: 2});
      await datastore.delete(key);
      await assert.rejects(
        fencedUpdate(datastore, key, 8n, () => ({value: -1})),
        isCode('STALE_FENCE'),
        'after a plain delete',
      );
      assert.equal(await stored(datastore, name), undefined);
      assert.deepEqual(
        await fencedUpdate(datastore, key, 9n, current => ({
          value: current === undefined ? 'from nothing' : 'from data',
        })),
        {value: 'from nothing'},
        'the holder of the highest fence re-creates it',
      );
    });

    it('refuses bad input with INVALID_ARGUMENT', async () => {
      const key = datastore.key(['FencedRegister', uniqueId('register')]);
      const bad = isCode('INVALID_ARGUMENT');
      await assert.rejects(
        fencedUpdate(datastore, key, 1 as unknown as bigint, () => ({})),
        bad,
      );
      await assert.rejects(
        fencedUpdate(datastore, key, -1n, () => ({})),
        bad,
      );
      await assert.rejects(
        fencedUpdate(datastore, key, undefined, () => ({})),
        bad,
        "a WEAK lock's fence (undefined)",
      );
      await assert.rejects(
        fencedUpdate(
          datastore,
          datastore.key('FencedRegister'),
          1n,
          () => ({}),
        ),
        bad,
      );
      await assert.rejects(
        fencedUpdate(datastore, key, 1n, () => ({[FENCE_PROPERTY]: 5})),
        bad,
      );
      await assert.rejects(
        fencedUpdate(datastore, key, 1n, () => null as unknown as EntityData),
        bad,
      );
      assert.equal(
        await stored(datastore, key.name as string),
        undefined,
        'nothing was written',
      );
    });

    it('concurrent writers with one fence all apply (contention is retried, each update sees the last)', async () => {
      const key = datastore.key(['FencedRegister', uniqueId('register')]);
      const results = await Promise.allSettled(
        Array.from({length: 4}, () =>
          fencedUpdate(datastore, key, 1n, current => ({
            value: Number(current?.value ?? 0) + 1,
          })),
        ),
      );
      const applied = results.filter(
        result => result.status === 'fulfilled',
      ).length;
      for (const result of results) {
        if (result.status === 'rejected')
          assert.equal(
            (result.reason as LockError).code,
            'BACKEND_UNAVAILABLE',
            String(result.reason),
          );
      }
      assert.equal(
        (await stored(datastore, key.name as string))?.value,
        applied,
        'every write that resolved is counted once',
      );
      assert.ok(applied >= 1);
    });

    it('a holder paused past its lease (SIGSTOP) writes after SIGCONT: refused STALE_FENCE; its successor’s write stays', async () => {
      const name = uniqueId('register');
      const key = datastore.key(['FencedRegister', name]);
      let successorFence = 0n;
      const outcome = await pausedWriterOutcome(
        {
          DATASTORE_EMULATOR_HOST: target.host(),
          IDENTIFIER: uniqueId('fenced-pause'),
          LEASE_MS: String(LEASE_MS),
          REGISTER_NAME: name,
        },
        async successor => {
          successorFence = successor.fence as bigint;
          await fencedUpdate(datastore, key, successor.fence, () => ({
            writer: 'successor',
          }));
        },
      );
      assert.deepEqual(
        {event: outcome.event, code: outcome.code},
        {event: 'refused', code: 'STALE_FENCE'},
      );
      assert.ok(
        outcome.message?.includes(`fence ${outcome.fence}`) &&
          outcome.message.includes(`fence ${successorFence}`),
        outcome.message,
      );
      assert.deepEqual(await stored(datastore, name), {
        writer: 'successor',
        fence: String(successorFence),
      });
    });
  });
}
