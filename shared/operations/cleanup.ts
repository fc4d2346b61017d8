import {randomUUID} from 'node:crypto';
import {attemptCleanup, retrying} from '../core/attempts';
import type {LockRuntime, RuntimeSource} from '../configuration/runtime';
import {DEFAULT_HANDOFF_LEASE_MS} from '../pubsub/locked-handler-options';
import {Publisher} from '../pubsub/publisher';
import {publishWakeUp} from '../pubsub/wake-up';
import {LockError} from '../core/errors';
import {LockKind} from '../core/kinds';
import {durationOption} from '../validation';
import {observeCleanup} from '../telemetry/lock-telemetry';
import {noteDispatch} from '../telemetry/waiting-room-telemetry';

/** djangae's default: a lock older than 10 minutes is taken to be abandoned. */
export const DEFAULT_CLEANUP_MAX_AGE_MS = 10 * 60 * 1000;

/** @internal */
export async function cleanupStaleLocksIn(
  runtimeOf: RuntimeSource,
  options: {maxAgeMs?: number; now?: Date} = {},
): Promise<{deleted: number; dispatched: number}> {
  const maxAgeMs =
    durationOption('maxAgeMs', options.maxAgeMs) ?? DEFAULT_CLEANUP_MAX_AGE_MS;
  const now = options.now ?? new Date();
  const runtime = runtimeOf();
  const backend = await runtime.backend(LockKind.STRONG);
  const cleanup = backend.cleanup?.bind(backend);
  if (!cleanup)
    throw new LockError(
      'BACKEND_FAILURE',
      'the STRONG backend cannot clean up',
      {kind: LockKind.STRONG},
    );
  const criteria = {now, maxAgeMs};
  const deleted = await observeCleanup(
    {
      kind: LockKind.STRONG,
      recordIdentifiers: runtime.config.telemetry.recordIdentifiers,
    },
    () => attemptCleanup(() => cleanup(criteria), runtime.config.retry),
  );
  const removeOnceKeys = backend.removeExpiredOnceKeys?.bind(backend);
  if (removeOnceKeys) {
    const expiredOnceKeys = await attemptCleanup(
      () => removeOnceKeys(now),
      runtime.config.retry,
    );
    if (expiredOnceKeys > 0)
      runtime.config.logger.info(
        'cleanup: removed once-key records past their retention',
        {expiredOnceKeys},
      );
  }
  const dispatched = await dispatchStranded(runtime, now);
  // `deleted` counts locks only, as it always has.
  return {deleted, dispatched};
}

/** Published on the first stranded waiting room found; loads the Pub/Sub client only then. */
let wakeUps: Publisher | undefined;

/**
 * The waiting rooms' backstop: a lock with messages parked that nobody will hand on (its holder
 * crashed, a wake-up was lost, it was released outside lockedHandler) is handed to its oldest
 * parked message, whose wake-up is published. A failed publish is logged; the hand-off lease lapses
 * and the next run dispatches it again.
 */
async function dispatchStranded(
  runtime: LockRuntime,
  now: Date,
): Promise<number> {
  const backend = await runtime.backend(LockKind.STRONG);
  const room = backend.waitingRoom;
  if (!room) return 0;
  const records = await retrying(runtime.config.retry, () =>
    room.sweep({
      now,
      handOff: () => ({token: randomUUID(), leaseMs: DEFAULT_HANDOFF_LEASE_MS}),
    }),
  );
  let dispatched = 0;
  for (const record of records) {
    try {
      await publishWakeUp((wakeUps ??= new Publisher()), record);
      dispatched++;
      noteDispatch(
        {
          kind: LockKind.STRONG,
          recordIdentifiers: runtime.config.telemetry.recordIdentifiers,
        },
        'sweep',
      );
    } catch (error) {
      runtime.config.logger.error(
        "cleanup: a stranded parked message's wake-up could not be published; the next run dispatches it again",
        {
          identifier: record.identifier,
          seq: record.seq,
          detail: (error as Error)?.message,
        },
      );
    }
  }
  if (records.length > 0)
    runtime.config.logger.info('cleanup: dispatched stranded parked messages', {
      dispatched,
      found: records.length,
    });
  return dispatched;
}
