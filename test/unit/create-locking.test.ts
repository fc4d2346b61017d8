import {strict as assert} from 'node:assert';
import sinon from 'sinon';
import {
  configureLocking,
  createLocking,
  forceRelease,
  Lock,
  LockError,
  LockKind,
} from '../../shared';
import {createDatastoreBackend} from '../../shared/stores/datastore';
import {createFirestoreBackend} from '../../shared/stores/firestore';
import {createMemcachedBackend} from '../../shared/stores/memcached';
import {type PubSubCloudEvent} from '../../shared/pubsub';
import {cloudLoggingLogger} from '../../functions/cloud-logging';
import {uniqueId} from '../support/ids';
import {MemoryBackend} from '../support/memory-backend';
import {RecordingLogger} from '../support/recording-logger';

const isInvalid = (error: unknown) =>
  error instanceof LockError && error.code === 'INVALID_ARGUMENT';

const event = (id: string): PubSubCloudEvent => ({
  id,
  data: {message: {messageId: id}},
});

/** Output written to stdout and stderr while `run` runs. */
async function outputOf(run: () => Promise<unknown>): Promise<string[]> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) =>
    written.push(String(chunk)) > 0;
  const stdout = sinon.stub(process.stdout, 'write').callsFake(capture);
  const stderr = sinon.stub(process.stderr, 'write').callsFake(capture);
  try {
    await run();
  } finally {
    stdout.restore();
    stderr.restore();
  }
  return written;
}

describe('createLocking', () => {
  afterEach(() => {
    sinon.restore();
    configureLocking();
  });

  it('instances keep their locks on their own backends, apart from each other and from the module', async () => {
    const a = new MemoryBackend();
    const b = new MemoryBackend();
    const first = createLocking({strong: a});
    const second = createLocking({strong: Promise.resolve(b)});
    configureLocking({strong: new MemoryBackend()});
    const id = uniqueId('instances');
    const one = await first.Lock.acquire(id, {wait: false});
    const two = await second.acquire(id, {wait: false});
    const module = await Lock.acquire(id, {wait: false});
    assert.ok(one && two && module, 'three stores, three grants');
    assert.equal(a.locks.get(id)?.token, one.token);
    assert.equal(b.locks.get(id)?.token, two.token);
    assert.equal(typeof one.fence, 'bigint');
    assert.equal((await first.peek(id))?.holderId, one.holderId);
    assert.equal(
      await first.lock(id, {wait: false}).wrap(() => 1)(),
      undefined,
    );
    assert.equal(await one.release(), true);
    assert.equal(await first.lock(id, {wait: false}).run(() => 2), 2);
    assert.equal(await second.releaseByToken(id, two.token), true);
    assert.equal(a.locks.size + b.locks.size, 0);
    await module.release();
  });

  it('refuses a backend of the other kind, or something that is not a backend, with INVALID_ARGUMENT', async () => {
    assert.throws(
      () => createLocking({strong: new MemoryBackend(LockKind.WEAK)}),
      isInvalid,
    );
    assert.throws(
      () => createLocking({weak: new MemoryBackend(LockKind.STRONG)}),
      isInvalid,
    );
    assert.throws(
      () => createLocking({strong: 'datastore' as never}),
      isInvalid,
    );
    assert.throws(
      () => createLocking({logger: console.log as never}),
      isInvalid,
    );
    const promised = createLocking({
      weak: Promise.resolve(new MemoryBackend(LockKind.STRONG)),
    });
    await assert.rejects(
      promised.acquire(uniqueId('promised'), {kind: LockKind.WEAK}),
      isInvalid,
    );
  });

  it('the backend factories refuse bad options with INVALID_ARGUMENT before loading anything', async () => {
    await assert.rejects(
      createDatastoreBackend(undefined, {entityKind: '__reserved'}),
      isInvalid,
    );
    await assert.rejects(
      createFirestoreBackend(undefined, {databaseId: 'Not A Database'}),
      isInvalid,
    );
    await assert.rejects(
      createMemcachedBackend(undefined, {keyPrefix: 'has space'}),
      isInvalid,
    );
  });

  it('the library prints nothing by default', async () => {
    const backend = new MemoryBackend();
    configureLocking({strong: backend});
    const id = uniqueId('silent');
    backend.hold(id);
    const written = await outputOf(async () => {
      await forceRelease(id);
      await forceRelease(id);
      backend.hold(id);
      await createLocking({strong: backend}).lockedHandler(
        {identifier: () => id, wait: false},
        () => assert.fail('must not run: the lock is held'),
      )(event('silent'));
    });
    assert.deepEqual(written, []);
  });

  it("logs lockedHandler's and forceRelease's decisions through the logger given, never the token", async () => {
    const backend = new MemoryBackend();
    const logger = new RecordingLogger();
    const locking = createLocking({strong: backend, logger});
    const id = uniqueId('logged');
    const holder = backend.hold(id, 'the-holders-token');
    await locking.lockedHandler({identifier: () => id, wait: false}, () =>
      assert.fail('must not run: the lock is held'),
    )(event('logged'));
    await locking.forceRelease(id);
    assert.deepEqual(
      logger.entries.map(entry => [entry.level, entry.message]),
      [
        ['info', 'lockedHandler: lock held, message dropped (wait: false)'],
        ['warn', 'forceRelease: removed a lock'],
      ],
    );
    assert.equal(logger.entries[0]?.fields.identifier, id);
    assert.equal(logger.entries[1]?.fields.fence, holder.fence);
    assert.ok(!logger.text().includes(holder.token), 'no token');
  });

  it("the functions' logger writes Cloud Logging's structured JSON lines", async () => {
    const written = await outputOf(async () => {
      cloudLoggingLogger.info('an info', {fence: 12n});
      cloudLoggingLogger.warn('a warning', {identifier: 'x'});
    });
    assert.deepEqual(
      written.map(line => JSON.parse(line)),
      [
        {severity: 'INFO', message: 'an info', fence: '12'},
        {severity: 'WARNING', message: 'a warning', identifier: 'x'},
      ],
    );
  });
});
