import {strict as assert} from 'node:assert';
import type {AddressInfo} from 'node:net';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import type {Browser} from 'puppeteer-core';
import request from 'supertest';
import '../../functions';
import {LOCKS_PAGE_ENABLED_VARIABLE} from '../../functions/locks-page';
import {configureLocking, Lock} from '../../shared';
import type {LockBackend} from '../../shared/core/backend';
import {createDatastoreBackend} from '../../shared/stores/datastore/create-datastore-backend';
import {launchChromium} from '../support/chromium';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {uniqueId} from '../support/ids';
import {parkBehind, type Room} from '../support/waiting-room-fill';

/**
 * The locks page shows lockedHandler's waiting room: each lock's queue depth and how long its
 * oldest parked message has waited, in the JSON and in the table a real headless chromium renders.
 */
describe('locksPage: queue depth and oldest wait', function () {
  this.timeout(60_000);
  let saved: NodeJS.ProcessEnv;
  let backend: LockBackend;
  let room: Room;
  let held: Lock;
  const id = uniqueId('page-queue');

  before(async () => {
    saved = {...process.env};
    process.env[LOCKS_PAGE_ENABLED_VARIABLE] = 'true';
    delete process.env.LOCKS_API_TOKEN;
    delete process.env.K_SERVICE;
    ({backend, room} = parkBehind(
      await createDatastoreBackend(DATASTORE_TARGETS[0]?.client()),
    ));
    configureLocking({strong: backend});
    const lock = await Lock.acquire(id, {leaseMs: 60_000});
    assert.ok(lock);
    held = lock;
    await room.park(id, 3);
  });
  after(async () => {
    await room.drain(id, held.token);
    configureLocking();
    process.env = {...saved};
  });

  it('locks JSON: queueDepth and oldestWaitMs beside the holder', async () => {
    const listed = await request(getTestServer('locksPage')).get('/locks');
    assert.equal(listed.status, 200);
    const row = (listed.body.locks as Record<string, unknown>[]).find(
      lock => lock.identifier === id,
    );
    assert.equal(row?.holderId, held.holderId);
    assert.equal(row?.queueDepth, 3);
    assert.equal(typeof row?.oldestParkedAt, 'string');
    assert.ok(
      typeof row?.oldestWaitMs === 'number' && row.oldestWaitMs >= 0,
      `oldestWaitMs ${String(row?.oldestWaitMs)}`,
    );
    assert.ok(!listed.text.includes(held.token), 'never a token');
  });

  it('in chromium, the lock row shows its queue depth and its oldest wait', async () => {
    const server = getTestServer('locksPage').listen(0, '127.0.0.1');
    await new Promise(resolve => server.once('listening', resolve));
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      );
      const row = `[...document.querySelectorAll('#locks-body tr')].find((row) => row.dataset.identifier === ${JSON.stringify(id)})`;
      await page.waitForFunction(`${row} !== undefined`, {timeout: 20_000});
      const headers = (await page.evaluate(
        "[...document.querySelectorAll('thead th')].map((cell) => cell.textContent)",
      )) as string[];
      const cells = (await page.evaluate(
        `[...${row}.querySelectorAll('td')].map((cell) => cell.textContent)`,
      )) as string[];
      assert.deepEqual(headers.slice(5), ['Queue', 'Oldest wait']);
      assert.equal(cells[1], held.holderId);
      assert.equal(cells[5], '3');
      assert.match(cells[6] ?? '', /^\d+(\.\d)? ?(ms|s)$|^\d+m \d\ds$/);
      assert.equal(await page.evaluate(`${row}.dataset.depth`), '3');
    } finally {
      await browser?.close();
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
  });
});
