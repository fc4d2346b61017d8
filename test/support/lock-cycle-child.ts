import diagnosticsChannel from 'node:diagnostics_channel';
import {EVENTS_CHANNEL, Lock, LockKind, type LockEvent} from '../../shared';

/**
 * A child process that takes and releases a WEAK lock (memcached at MEMCACHE_SERVERS) and prints
 * what happened as one JSON line: whether `@opentelemetry/api` could be loaded, and the events seen.
 */
async function main(): Promise<void> {
  const events: LockEvent[] = [];
  diagnosticsChannel.subscribe(EVENTS_CHANNEL, message =>
    events.push(message as LockEvent),
  );
  const held = await Lock.acquire(`absent-otel:${process.pid}:${Date.now()}`, {
    kind: LockKind.WEAK,
  });
  const released = await held?.release();
  let otelLoadable = true;
  try {
    require('@opentelemetry/api');
  } catch {
    otelLoadable = false;
  }
  process.stdout.write(
    `${JSON.stringify({acquired: Boolean(held), released, otelLoadable, events: events.map(event => `${event.type}:${event.outcome}`)})}\n`,
  );
  process.exit(0);
}

void main();
