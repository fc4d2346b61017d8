import {strict as assert} from 'node:assert';
import {createHash} from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import {EVENTS_CHANNEL, LockKind, type LockEvent} from '../../shared';
import {observeRequeue} from '../../shared/telemetry/lock-telemetry';
import {METRICS} from '../../shared/telemetry/names';
import {
  noteDispatch,
  notePark,
  noteWoken,
} from '../../shared/telemetry/waiting-room-telemetry';
import {OtelMemory} from '../support/otel-memory';

const sha256 = (text: string) =>
  createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The waiting room's instruments, as lockedHandler notes them: read back from the SDK's in-memory
 * reader and from the events channel.
 */
describe('waiting room telemetry', () => {
  let otel: OtelMemory;
  const subject = {
    kind: LockKind.STRONG,
    identifier: 'account:w22-otel',
    recordIdentifiers: false,
  };

  beforeEach(() => {
    otel = OtelMemory.register();
  });
  afterEach(() => otel.unregister());

  it('counts parks by outcome, wake-ups, dispatches by who handed the lock; the time parked is a histogram in ms', async () => {
    notePark(subject, 'parked', 1);
    notePark(subject, 'parked', 2);
    notePark(subject, 'full', 1000);
    notePark(subject, 'too_large');
    noteWoken(subject, 120);
    noteWoken(subject, 480.4);
    noteDispatch(subject, 'release');
    noteDispatch(subject, 'release');
    noteDispatch(subject, 'arrival');
    noteDispatch({...subject, identifier: 'other'}, 'sweep');

    const parks = (outcome: string) =>
      otel.count(METRICS.parks, {
        'locking.kind': 'STRONG',
        'locking.outcome': outcome,
      });
    assert.deepEqual(
      [await parks('parked'), await parks('full'), await parks('too_large')],
      [2, 1, 1],
    );
    assert.equal(
      await otel.count(METRICS.wakes, {'locking.kind': 'STRONG'}),
      2,
    );
    const by = (who: string) =>
      otel.count(METRICS.dispatches, {'locking.dispatched_by': who});
    assert.deepEqual(
      [await by('release'), await by('arrival'), await by('sweep')],
      [2, 1, 1],
    );

    const metrics = await otel.metrics();
    const parked = metrics.find(metric => metric.name === METRICS.parkedTime);
    assert.equal(parked?.unit, 'ms');
    const point = parked?.points[0]?.value;
    assert.ok(point && typeof point !== 'number', 'a histogram');
    assert.equal(point.count, 2);
    assert.equal(point.sum, 600, 'rounded to whole ms');
    assert.deepEqual(
      [point.min, point.max],
      [120, 480],
      'from park to claim, per message',
    );
    for (const metric of metrics)
      for (const dataPoint of metric.points)
        assert.ok(
          !Object.keys(dataPoint.attributes).some(name =>
            name.startsWith('locking.identifier'),
          ),
          `${metric.name} carries no identifier nor its hash`,
        );
  });

  it('a dead letter for max wait counts in locking.handler.dead_letters with locking.reason max_wait; by default the reason is max_attempts', async () => {
    await observeRequeue(subject, 'dead_letter', async () => undefined);
    await observeRequeue(
      subject,
      'dead_letter',
      async () => undefined,
      'max_wait',
    );
    await observeRequeue(subject, 'requeue', async () => undefined);
    assert.equal(await otel.count(METRICS.deadLetters), 2);
    assert.equal(
      await otel.count(METRICS.deadLetters, {'locking.reason': 'max_wait'}),
      1,
    );
    assert.equal(
      await otel.count(METRICS.deadLetters, {'locking.reason': 'max_attempts'}),
      1,
    );
    assert.equal(await otel.count(METRICS.requeues), 1);
    assert.deepEqual(
      otel
        .spans('locking.handler.requeue')
        .map(span => span.attributes['locking.reason']),
      ['max_attempts', 'max_wait', undefined],
    );
  });

  it('each note is an event on the channel: the identifier hash always, the identifier only with recordIdentifiers', () => {
    const events: LockEvent[] = [];
    const listen = (message: unknown) => events.push(message as LockEvent);
    diagnosticsChannel.subscribe(EVENTS_CHANNEL, listen);
    try {
      notePark(subject, 'parked', 3);
      noteWoken(subject, 250);
      noteDispatch({...subject, recordIdentifiers: true}, 'sweep');
    } finally {
      diagnosticsChannel.unsubscribe(EVENTS_CHANNEL, listen);
    }
    assert.deepEqual(
      events.map(event => [
        event.type,
        event.outcome,
        event.depth,
        event.waitedMs,
        event.reason,
        event.identifier,
      ]),
      [
        ['park', 'parked', 3, undefined, undefined, undefined],
        ['wake', 'claimed', undefined, 250, undefined, undefined],
        [
          'dispatch',
          'dispatched',
          undefined,
          undefined,
          'sweep',
          subject.identifier,
        ],
      ],
    );
    assert.ok(
      events.every(
        event => event.identifierHash === sha256(subject.identifier),
      ),
    );
  });
});
