import {strict as assert} from 'node:assert';
import {http} from '@google-cloud/functions-framework';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import {createLocking, LockKind} from '../../shared';
import {holderIdOf} from '../../shared/core/holder-id';
import {acquireLockHandler} from '../../functions/acquire-lock';
import {cleanupLocksHandler} from '../../functions/cleanup-locks';
import {releaseLockHandler} from '../../functions/release-lock';
import {renewLockHandler} from '../../functions/renew-lock';
import {delay, uniqueId} from '../support/ids';
import {MemoryBackend} from '../support/memory-backend';

/**
 * The HTTP functions' shells, built on a createLocking instance over in-memory backends, in-process
 * (Functions Framework test server + supertest): the request and answer mapping with no store.
 * test/functions/ runs the same functions on every emulator.
 */
describe('HTTP functions on the in-memory backend', () => {
  const strong = new MemoryBackend(LockKind.STRONG);
  const weak = new MemoryBackend(LockKind.WEAK);
  const locking = createLocking({strong, weak});
  http('memoryAcquireLock', acquireLockHandler(locking));
  http('memoryReleaseLock', releaseLockHandler(locking));
  http('memoryRenewLock', renewLockHandler(locking));
  http('memoryCleanupLocks', cleanupLocksHandler(locking));
  const acquire = () => request(getTestServer('memoryAcquireLock'));
  const release = () => request(getTestServer('memoryReleaseLock'));
  const renew = () => request(getTestServer('memoryRenewLock'));
  const cleanup = () => request(getTestServer('memoryCleanupLocks'));

  it('acquire, a refused second acquire, renew, release, and a refused second release', async () => {
    const identifier = uniqueId('memory-http');
    const granted = await acquire()
      .post('/')
      .send({identifier, leaseMs: 5_000});
    assert.equal(granted.status, 200, granted.text);
    assert.equal(granted.body.kind, 'STRONG');
    assert.match(granted.body.fence, /^\d+$/);
    assert.equal(
      strong.locks.get(identifier)?.token,
      granted.body.token,
      "the instance's backend holds it",
    );
    assert.equal(
      (await locking.peek(identifier))?.holderId,
      holderIdOf(granted.body.token),
    );
    const held = await acquire().post('/').send({identifier, wait: false});
    assert.equal(held.status, 409);
    assert.deepEqual(held.body, {error: 'lock_held'});

    const {token} = granted.body as {token: string};
    const renewed = await renew()
      .post('/')
      .send({identifier, token, leaseMs: 60_000});
    assert.equal(renewed.status, 200, renewed.text);
    assert.ok(
      new Date(renewed.body.expiresAt).getTime() > Date.now() + 50_000,
      'the lease runs 60 s from now',
    );
    const stranger = await release()
      .post('/')
      .send({identifier, token: 'not-the-holder'});
    assert.equal(stranger.status, 409);
    assert.deepEqual(stranger.body, {error: 'not_holder'});
    const released = await release().post('/').send({identifier, token});
    assert.equal(released.status, 200, released.text);
    assert.deepEqual(released.body, {released: true});
    assert.equal(strong.locks.has(identifier), false);
    const again = await release().post('/').send({identifier, token});
    assert.equal(again.status, 409);
    assert.equal(
      (await renew().post('/').send({identifier, token})).status,
      409,
      'a released lock is not renewed',
    );
  });

  it('WEAK locks go to the WEAK backend, without a fence', async () => {
    const identifier = uniqueId('memory-http-weak');
    const granted = await acquire().post('/').send({identifier, kind: 'WEAK'});
    assert.equal(granted.status, 200, granted.text);
    assert.equal(granted.body.kind, 'WEAK');
    assert.equal('fence' in granted.body, false);
    assert.ok(weak.locks.has(identifier));
    assert.equal(strong.locks.has(identifier), false);
    const released = await release()
      .post('/')
      .send({identifier, token: granted.body.token, kind: 'WEAK'});
    assert.equal(released.status, 200, released.text);
  });

  it('cleanup deletes the stale STRONG locks of its instance', async () => {
    const identifier = uniqueId('memory-http-stale');
    strong.hold(identifier);
    await delay(20);
    const response = await cleanup().post('/').send({maxAgeMs: 10});
    assert.equal(response.status, 200, response.text);
    assert.ok(response.body.deleted >= 1, JSON.stringify(response.body));
    assert.equal(strong.locks.has(identifier), false);
  });

  it('400 naming the field for bad input', async () => {
    const response = await acquire()
      .post('/')
      .send({identifier: uniqueId('memory-http-bad'), leaseMs: 5});
    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.error, 'invalid_request');
    assert.match(response.body.message, /leaseMs/);
  });
});
