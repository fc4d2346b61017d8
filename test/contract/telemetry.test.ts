import {strict as assert} from 'node:assert';
import {createHash} from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import type {Client} from 'memjs';
import type {ReadableSpan} from '@opentelemetry/sdk-trace-base';
import {
  cleanupStaleLocks,
  configureLocking,
  EVENTS_CHANNEL,
  Lock,
  LockError,
  LockKind,
  type LockEvent,
} from '../../shared';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {OtelMemory} from '../support/otel-memory';

const sha256 = (text: string) =>
  createHash('sha256').update(text, 'utf8').digest('hex');
const fastRetry = {initialMs: 5, maxMs: 20, maxAttempts: 3};
const legacy = DATASTORE_TARGETS[0];

/** Every attribute value of every span, as text: no token may be among them. */
function attributeTexts(spans: readonly ReadableSpan[]): string[] {
  return spans.flatMap(span => Object.values(span.attributes).map(String));
}

/** Spans, metrics and events of real lock calls on the emulators, read back from the SDK's in-memory exporters. */
describe('OpenTelemetry spans and metrics, and the events channel', () => {
  let otel: OtelMemory;
  let memcache: Client;

  beforeEach(() => {
    otel = OtelMemory.register();
    memcache = memcacheClient();
    configureLocking({datastore: legacy?.client(), memcache, retry: fastRetry});
  });
  afterEach(async () => {
    await otel.unregister();
    memcache.close();
  });
  after(() => configureLocking());

  it('STRONG acquire, renew and release: spans with kind, outcome, fence, holderId and the identifier hash, never the token or the identifier', async () => {
    const id = uniqueId('otel-strong');
    const held = await Lock.acquire(id, {leaseMs: 10_000});
    assert.ok(held);
    assert.equal(await held.renew(), true);
    assert.equal(await held.release(), true);

    const [acquire] = otel.spans('locking.acquire');
    assert.ok(acquire, 'an acquire span');
    assert.equal(acquire.attributes['locking.kind'], 'STRONG');
    assert.equal(acquire.attributes['locking.outcome'], 'acquired');
    assert.equal(acquire.attributes['locking.fence'], String(held.fence));
    assert.equal(acquire.attributes['locking.holder_id'], held.holderId);
    assert.equal(acquire.attributes['locking.identifier_hash'], sha256(id));
    assert.equal(typeof acquire.attributes['locking.waited_ms'], 'number');
    assert.equal(
      acquire.attributes['locking.identifier'],
      undefined,
      'identifiers only when the app opts in',
    );
    assert.equal(
      otel.spans('locking.renew')[0]?.attributes['locking.outcome'],
      'renewed',
    );
    assert.equal(
      otel.spans('locking.release')[0]?.attributes['locking.outcome'],
      'released',
    );
    const texts = attributeTexts(otel.spans());
    assert.ok(
      !texts.some(text => text.includes(held.token)),
      'no token in any span',
    );
    assert.ok(
      !texts.some(text => text.includes(id)),
      'no identifier in any span',
    );

    assert.equal(
      await otel.count('locking.acquisitions', {
        'locking.outcome': 'acquired',
        'locking.kind': 'STRONG',
      }),
      1,
    );
    assert.equal(
      await otel.count('locking.renewals', {'locking.outcome': 'renewed'}),
      1,
    );
    assert.equal(
      await otel.count('locking.releases', {'locking.outcome': 'released'}),
      1,
    );
    const wait = (await otel.metrics()).find(
      metric => metric.name === 'locking.acquire.wait',
    );
    assert.equal(wait?.unit, 'ms');
    assert.equal(
      await otel.count('locking.acquire.wait'),
      1,
      'one wait recorded in the histogram',
    );
  });

  it('counts acquisitions by outcome: acquired, held, stolen, lease_expired; releases by outcome; lost locks', async () => {
    const stealId = uniqueId('otel-steal');
    const victim = await Lock.acquire(stealId);
    assert.ok(victim);
    assert.equal(await Lock.acquire(stealId, {wait: false}), null);
    await delay(100);
    const thief = await Lock.acquire(stealId, {wait: false, stealAfterMs: 10});
    assert.ok(thief, 'stolen');
    assert.equal(await victim.release(), false, 'the victim finds it lost');
    assert.equal(await thief.release(), true);

    const leaseId = uniqueId('otel-lease');
    const lapsed = await Lock.acquire(leaseId, {leaseMs: 150});
    assert.ok(lapsed);
    await delay(300);
    const taker = await Lock.acquire(leaseId, {wait: false});
    assert.ok(taker, 'the expired lease is taken over');
    await taker.release();

    assert.equal(
      await otel.count('locking.acquisitions', {'locking.outcome': 'acquired'}),
      2,
    );
    assert.equal(
      await otel.count('locking.acquisitions', {'locking.outcome': 'held'}),
      1,
    );
    assert.equal(
      await otel.count('locking.acquisitions', {'locking.outcome': 'stolen'}),
      1,
    );
    assert.equal(
      await otel.count('locking.acquisitions', {
        'locking.outcome': 'lease_expired',
      }),
      1,
    );
    assert.equal(await otel.count('locking.acquire.wait'), 5);
    assert.equal(
      await otel.count('locking.releases', {'locking.outcome': 'released'}),
      2,
    );
    assert.equal(
      await otel.count('locking.releases', {'locking.outcome': 'not_holder'}),
      1,
    );
    assert.equal(await otel.count('locking.lost'), 1);
    const outcomes = otel
      .spans('locking.acquire')
      .map(span => span.attributes['locking.outcome']);
    assert.deepEqual(outcomes, [
      'acquired',
      'held',
      'stolen',
      'acquired',
      'lease_expired',
    ]);
  });

  it('a cleanup span says how many locks it removed, and the counter adds them', async () => {
    const abandoned = await Lock.acquire(uniqueId('otel-cleanup'), {
      leaseMs: 100,
    });
    assert.ok(abandoned);
    await delay(250);
    const {deleted} = await cleanupStaleLocks();
    assert.ok(deleted >= 1);
    const [span] = otel.spans('locking.cleanup');
    assert.equal(span?.attributes['locking.deleted'], deleted);
    assert.equal(span?.attributes['locking.kind'], 'STRONG');
    assert.equal(await otel.count('locking.cleanup.deleted'), deleted);
  });

  it('with recordIdentifiers, spans carry the identifier itself', async () => {
    configureLocking({
      memcache,
      retry: fastRetry,
      telemetry: {recordIdentifiers: true},
    });
    const id = uniqueId('otel-named');
    const held = await Lock.acquire(id, {kind: LockKind.WEAK});
    assert.ok(held);
    await held.release();
    const [acquire] = otel.spans('locking.acquire');
    assert.equal(acquire?.attributes['locking.identifier'], id);
    assert.equal(acquire?.attributes['locking.kind'], 'WEAK');
    assert.equal(
      acquire?.attributes['locking.fence'],
      undefined,
      'WEAK grants have no fence',
    );
  });

  it('rejects a telemetry option that is not a boolean', () => {
    assert.throws(
      () =>
        configureLocking({
          telemetry: {recordIdentifiers: 'yes' as unknown as boolean},
        }),
      (error: unknown) =>
        error instanceof LockError &&
        error.code === 'INVALID_ARGUMENT' &&
        /recordIdentifiers/.test(error.message),
    );
  });

  it(`publishes each event on the diagnostics channel ${EVENTS_CHANNEL}: hash, outcome, fence as a string, holderId, waitedMs; no token`, async () => {
    const events: LockEvent[] = [];
    const listen = (message: unknown) => events.push(message as LockEvent);
    diagnosticsChannel.subscribe(EVENTS_CHANNEL, listen);
    try {
      const id = uniqueId('otel-events');
      const held = await Lock.acquire(id);
      assert.ok(held);
      await held.release();
      const [acquired, released] = events;
      assert.equal(events.length, 2);
      assert.equal(acquired?.type, 'acquire');
      assert.equal(acquired?.kind, 'STRONG');
      assert.equal(acquired?.outcome, 'acquired');
      assert.equal(acquired?.fence, String(held.fence));
      assert.equal(acquired?.holderId, held.holderId);
      assert.equal(acquired?.identifierHash, sha256(id));
      assert.equal(acquired?.identifier, undefined);
      assert.equal(typeof acquired?.waitedMs, 'number');
      assert.ok(!Number.isNaN(Date.parse(acquired?.at ?? '')));
      assert.deepEqual(
        [released?.type, released?.outcome],
        ['release', 'released'],
      );
      assert.ok(
        !JSON.stringify(events).includes(held.token),
        'no token in any event',
      );
    } finally {
      diagnosticsChannel.unsubscribe(EVENTS_CHANNEL, listen);
    }
  });
});
