import {strict as assert} from 'node:assert';
import {request as httpRequest, type Server} from 'node:http';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import sinon from 'sinon';
import '../../functions';
import {configureLocking, Lock, LockKind, peek} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import request from 'supertest';
import {freePort} from '../../infra/ports';
import {BUDGET_GRACE_MS} from '../../shared/core/budget';
import {startSilentServer} from '../support/silent-server';
import {delay, uniqueId} from '../support/ids';
import {ONE_TARGET_PER_CLIENT, STRONG_TARGETS} from '../support/strong-targets';
import {startForwarder} from '../support/tcp-forwarder';

/**
 * acquireLock and a client that goes away: the wait stops, and a lock granted after the client left
 * is released, since nobody will ever learn its token. Real HTTP on a real socket, in-process, so
 * the test can watch the wait queue and slow the store down.
 */
describe('acquireLock within its function deadline', function () {
  this.timeout(60_000);
  const saved = process.env.LOCKS_HTTP_MAX_WAIT_MS;
  after(() => {
    configureLocking();
    if (saved === undefined) delete process.env.LOCKS_HTTP_MAX_WAIT_MS;
    else process.env.LOCKS_HTTP_MAX_WAIT_MS = saved;
  });

  for (const target of ONE_TARGET_PER_CLIENT)
    for (const wait of [true, false]) {
      it(`a ${target.store} client: a store that never answers: wait ${wait} gets 503 within LOCKS_HTTP_MAX_WAIT_MS and its graces, not after 3 tries of 5 s calls`, async () => {
        const silent = await startSilentServer();
        try {
          process.env.LOCKS_HTTP_MAX_WAIT_MS = '400';
          configureLocking({
            ...target.configAt(silent.host),
            rpcTimeoutMs: 5_000,
          });
          const started = Date.now();
          const response = await request(getTestServer('acquireLock'))
            .post('/')
            .send({identifier: uniqueId('silent'), wait});
          const ms = Date.now() - started;
          assert.equal(response.status, 503, response.text);
          assert.ok(
            ms < 400 + 2 * BUDGET_GRACE_MS + 2_000,
            `answered after ${ms} ms`,
          );
        } finally {
          await silent.close();
        }
      });
    }

  for (const target of ONE_TARGET_PER_CLIENT) {
    it(`a ${target.store} client: a store that refuses connections gets 503 backend_unavailable, and the refused grant never lands once the store is back`, async () => {
      process.env.LOCKS_HTTP_MAX_WAIT_MS = '5000';
      const port = await freePort();
      configureLocking({
        ...target.configAt(`127.0.0.1:${port}`),
        rpcTimeoutMs: 500,
        retry: {initialMs: 5, maxMs: 20, maxAttempts: 3},
      });
      const identifier = uniqueId('refused');
      const response = await request(getTestServer('acquireLock'))
        .post('/')
        .send({identifier, wait: false});
      assert.equal(response.status, 503, response.text);
      assert.deepEqual(response.body, {error: 'backend_unavailable'});

      // The store comes back at the address the client kept: a write the client re-sent by itself
      // after the caller was told it failed would now create a lock nobody holds.
      const forwarder = await startForwarder(port, target.host());
      try {
        let reachable: Lock | null = null;
        for (
          const until = Date.now() + 20_000;
          !reachable && Date.now() < until;
          await delay(200)
        ) {
          reachable = await Lock.acquire(uniqueId('back'), {wait: false}).catch(
            () => null,
          );
        }
        assert.ok(reachable, 'the client reaches the store again');
        // Re-sends back off; the client's were ~1 s apart by now, and landed within ~3 s of the store's return.
        await delay(3_000);
        assert.equal(
          await peek(identifier),
          null,
          'no lock was created for the acquire that answered 503',
        );
      } finally {
        await forwarder.close();
      }
    });
  }
});

for (const target of STRONG_TARGETS)
  describe(`acquireLock when the client disconnects: ${target.name}`, function () {
    this.timeout(30_000);
    let server: Server;
    let port = 0;
    before(async () => {
      configureLocking(target.config());
      server = getTestServer('acquireLock');
      await new Promise<void>(resolve =>
        server.listen(0, '127.0.0.1', resolve),
      );
      port = (server.address() as {port: number}).port;
    });
    afterEach(() => sinon.restore());
    after(async () => {
      configureLocking();
      await new Promise(resolve => server.close(resolve));
    });

    /** Sends an acquire and hangs up after `ms`, before any answer. */
    function acquireThenHangUp(body: object, ms: number): Promise<void> {
      return new Promise(resolve => {
        const request = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          headers: {'Content-Type': 'application/json'},
        });
        request.on('error', () => resolve());
        request.on('response', () =>
          assert.fail('the client hung up before any answer'),
        );
        request.end(JSON.stringify(body));
        setTimeout(() => {
          request.destroy();
          resolve();
        }, ms);
      });
    }

    it('a waiting acquire stops when its client hangs up: it leaves the queue and never takes the lock', async () => {
      const identifier = uniqueId('gone-waiting');
      const holder = await Lock.acquire(identifier);
      assert.ok(holder);
      await acquireThenHangUp({identifier, waitForMs: 20_000}, 300);
      await delay(300);
      assert.equal(
        currentRuntime().queue.size(LockKind.STRONG, identifier),
        0,
        'the abandoned waiter left the queue',
      );
      await holder.release();
      await delay(500);
      assert.equal(
        await peek(identifier),
        null,
        'nobody took the lock for the client that left',
      );
    });

    it('a lock granted after its client hung up is released', async () => {
      const identifier = uniqueId('gone-granted');
      // The store is slow: the insert lands well after the client has gone.
      target.wrapGrantWrites(sinon, async write => {
        await delay(600);
        return write();
      });
      await acquireThenHangUp({identifier, wait: false}, 100);
      await delay(1_500);
      sinon.restore();
      assert.equal(
        await peek(identifier),
        null,
        'the orphaned grant was released',
      );
      const next = await Lock.acquire(identifier, {wait: false});
      assert.ok(next, 'the lock is free for the next caller');
      await next.release();
    });
  });
