import {strict as assert} from 'node:assert';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Redis} from 'iovalkey';
import type {RunningService} from '../../infra/processes';
import {startValkey, type ValkeyPersistence} from '../../infra/valkey';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {lockKeys} from '../../shared/stores/valkey/lock-keys';
import {delay, uniqueId} from '../support/ids';
import {valkeyUntil} from '../support/valkey-server-process';
import {valkeyClient} from '../support/valkey-target';

/**
 * A Valkey server with AOF persistence (`appendfsync always`) restarted on its port and data
 * directory (SIGTERM: a clean shutdown): the locks come back with what was left of their leases
 * (a key's expiry is kept as an absolute time), and the fences carry on from where they were. The
 * restart without persistence, where both are lost, is in valkey-faults.test.ts.
 */
describe('WEAK locks on Valkey: a restart with persistence', function () {
  this.timeout(60_000);
  let server: RunningService | undefined;
  let client: Redis | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await server?.stop();
    server = undefined;
    if (dir) await rm(dir, {recursive: true, force: true});
    dir = undefined;
  });

  it('a leased and a lease-less lock survive with their remaining lease; the fence never repeats; release works after', async () => {
    dir = await mkdtemp(join(tmpdir(), 'valkey-aof-'));
    const persistence: ValkeyPersistence = {dir, appendfsync: 'always'};
    server = await startValkey({persistence});
    const port = server.port;
    const own = valkeyClient(server.host);
    client = own;
    const backend = await createValkeyBackend(own);
    const leased = uniqueId('valkey-aof-leased');
    const leaseless = uniqueId('valkey-aof-leaseless');

    // A few grants first, so a fence that started again would show.
    for (const token of ['g1', 'g2', 'g3']) {
      assert.ok(
        (await backend.tryAcquire({identifier: leased, token})).acquired,
      );
      assert.equal(await backend.release(leased, token), 'released');
    }
    const LEASE_MS = 20_000;
    assert.ok(
      (
        await backend.tryAcquire({
          identifier: leased,
          token: 'a',
          leaseMs: LEASE_MS,
        })
      ).acquired,
    );
    assert.ok(
      (await backend.tryAcquire({identifier: leaseless, token: 'b'})).acquired,
    );
    const fenceA = await backend.fenceOf(leased, 'a');
    const fenceB = await backend.fenceOf(leaseless, 'b');
    assert.equal(fenceA, 4n);
    const pttlBefore = await own.pttl(lockKeys('lock:', leased).lock);
    const measuredAt = Date.now();

    await server.stop();
    // Down for a second: an expiry kept as a duration would come back a second too long.
    await delay(1000);
    server = await startValkey({port, persistence});
    await valkeyUntil(
      () => Promise.resolve(own.status),
      status => status === 'ready',
      10_000,
    );

    const elapsedMs = Date.now() - measuredAt;
    const pttlAfter = await own.pttl(lockKeys('lock:', leased).lock);
    // What was left of the lease, less the time the restart took: not a fresh one.
    assert.ok(
      pttlAfter >= pttlBefore - elapsedMs - 1000 &&
        pttlAfter <= pttlBefore - elapsedMs + 50,
      `PTTL ${pttlBefore} ms before, ${pttlAfter} ms ${elapsedMs} ms later`,
    );
    assert.equal(await backend.fenceOf(leased, 'a'), fenceA, 'A still holds');
    assert.equal(
      await backend.fenceOf(leaseless, 'b'),
      fenceB,
      'B still holds',
    );
    for (const identifier of [leased, leaseless]) {
      const other = await backend.tryAcquire({identifier, token: 'c'});
      assert.equal(other.acquired, false, `${identifier} is still held`);
    }

    assert.equal(await backend.release(leased, 'a'), 'released');
    assert.equal(await backend.release(leaseless, 'b'), 'released');
    assert.ok(
      (await backend.tryAcquire({identifier: leased, token: 'd'})).acquired,
    );
    assert.equal(
      await backend.fenceOf(leased, 'd'),
      (fenceA as bigint) + 1n,
      'the fence carries on',
    );
    assert.ok(
      (await backend.tryAcquire({identifier: leaseless, token: 'e'})).acquired,
    );
    assert.equal(
      await backend.fenceOf(leaseless, 'e'),
      (fenceB as bigint) + 1n,
    );
  });
});
