import {randomUUID} from 'node:crypto';
import {attemptPeek} from '../attempts';
import {LockKind} from '../kinds';
import {acquireIn, Lock} from '../lock';
import {observeHandlerRun} from '../telemetry/lock-telemetry';
import {
  attemptClaim,
  attemptHandOff,
  attemptPark,
} from '../waiting-room/attempts';
import {hasParked, parkable, releaseRevisionOf} from '../waiting-room/state';
import type {
  HandOffGrant,
  ParkedRecord,
  WaitingRoomStore,
} from '../waiting-room/types';
import type {Delivery} from './delivery';
import {whenHeldWithoutRoom} from './requeue';
import {
  DEAD_LETTER_REASON_ATTRIBUTE,
  orderingKeyOf,
} from './requeue-attributes';
import {runHolding} from './run-holding';
import {parkedMessageOf, publishWakeUp, wakeUpOf, type WakeUp} from './wake-up';

/**
 * How many times an arrival tries again when its park finds the lock free (the holder let go
 * between the arrival's acquire and its park). Each round is one acquire and one park.
 */
const ARRIVAL_ROUNDS = 3;

/**
 * A delivery to a lockedHandler with a waiting room (see README "The waiting room"):
 * - a wake-up claims the lock handed to its parked record and runs; a copy that is not due is
 *   acknowledged (the parked record is the message's durable copy); one whose record is gone
 *   (it ran, or failed and left the room) is a new arrival;
 * - an arrival takes the lock if it is free and nobody is parked, and otherwise parks behind the
 *   others at once, acknowledged only once the park has committed;
 * - every holder releases by handing the lock to the oldest parked message, then publishes that
 *   message's wake-up.
 */
export async function deliverThroughWaitingRoom<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
): Promise<void> {
  const wake = wakeUpOf(delivery.message.attributes);
  if (wake && (await deliverWakeUp(delivery, room, wake))) return;
  await deliverArrival(delivery, room);
}

/** `false` when the wake-up's parked record is gone: the message is then handled as an arrival. */
async function deliverWakeUp<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  wake: WakeUp,
): Promise<boolean> {
  const {settings, logger, context, identifier, runtimeOf} = delivery;
  const runtime = runtimeOf();
  const sentAt = Date.now();
  const claim = await attemptClaim(
    room,
    {
      identifier,
      seq: wake.seq,
      parkId: wake.parkId,
      token: randomUUID(),
      leaseMs: settings.leaseMs,
    },
    runtime.config.retry,
  );
  if (!claim.claimed) {
    if (claim.reason === 'gone') {
      logger.info(
        'lockedHandler: a wake-up whose parked record is gone; handled as a new arrival',
        {...context, seq: wake.seq},
      );
      return false;
    }
    logger.info(
      'lockedHandler: a wake-up that is not due (another delivery runs it, or it is still parked); acknowledged',
      {
        ...context,
        outcome: 'wake_up_dropped',
        seq: wake.seq,
        reason: claim.reason,
      },
    );
    return true;
  }
  const held = Lock.fromRecord(
    runtime,
    LockKind.STRONG,
    claim.record,
    sentAt,
    true,
  );
  const parkedMs = Date.now() - claim.parked.parkedAt.getTime();
  if (parkedMs > settings.maxWaitMs) {
    if (settings.deadLetterTopic) {
      await deadLetterOverdue(delivery, room, held, claim.parked, parkedMs);
      return true;
    }
    logger.warn(
      'lockedHandler: a parked message waited longer than maxWaitMs and there is no deadLetterTopic; it runs now',
      {...context, seq: wake.seq, parkedMs},
    );
  }
  logger.info('lockedHandler: running', {
    ...context,
    outcome: 'woken',
    seq: wake.seq,
    parkedMs,
    startedAtMs: Date.now(),
  });
  await observeHandlerRun(delivery.subject, held.holderId, () =>
    runHolding(
      held,
      () => delivery.handler(delivery.event, held),
      delivery.deadline,
      () => handOff(delivery, room, held),
      {logger, context},
    ),
  );
  return true;
}

/**
 * A parked message whose turn came after maxWaitMs: published to the dead-letter topic, then out of
 * the room. If that publish fails, the lock is left to lapse with the message still parked (it is
 * dispatched again by a backstop) and the delivery fails, rather than lose the message.
 */
async function deadLetterOverdue<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  held: Lock,
  parked: ParkedRecord,
  parkedMs: number,
): Promise<void> {
  const {settings, publisher, logger, context} = delivery;
  try {
    await publisher.publish(
      settings.deadLetterTopic as string,
      parked.data,
      {...parked.attributes, [DEAD_LETTER_REASON_ATTRIBUTE]: 'max_wait'},
      parked.orderingKey,
    );
  } catch (error) {
    held.stopRenewing();
    throw error;
  }
  logger.warn(
    'lockedHandler: a parked message waited longer than maxWaitMs; dead-lettered',
    {...context, outcome: 'dead_lettered', seq: parked.seq, parkedMs},
  );
  await handOff(delivery, room, held);
}

async function deliverArrival<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
): Promise<void> {
  const {settings, logger, context, identifier, message, runtimeOf, event} =
    delivery;
  const retry = runtimeOf().config.retry;
  const parked = parkedMessageOf(
    message,
    orderingKeyOf(message),
    context.messageId ?? (event as {id?: string}).id ?? '',
    settings.retryTopic as string,
  );
  const parkId = randomUUID();
  for (let round = 0; round < ARRIVAL_ROUNDS; round++) {
    const held = await acquireIn(runtimeOf, identifier, {
      kind: LockKind.STRONG,
      wait: false,
      ...(settings.stealAfterMs === undefined
        ? {}
        : {stealAfterMs: settings.stealAfterMs}),
      leaseMs: settings.leaseMs,
      autoRenew: true,
    });
    if (held && hasParked(held.lastWritten)) {
      // A vacant or lapsed lock taken over with messages parked: this one queues behind them.
      await parkBehind(delivery, room, held, parked, parkId);
      return;
    }
    if (held) {
      logger.info('lockedHandler: running', {...context, outcome: 'ran'});
      await observeHandlerRun(delivery.subject, held.holderId, () =>
        runHolding(
          held,
          () => delivery.handler(event, held),
          delivery.deadline,
          () => handOff(delivery, room, held),
          {logger, context},
        ),
      );
      return;
    }
    if (!parkable(parked)) {
      logger.info(
        'lockedHandler: lock held and the message is too large to park; re-queued',
        {...context, bytes: parked.data.length},
      );
      await whenHeldWithoutRoom(delivery);
      return;
    }
    const outcome = await attemptPark(
      room,
      {
        identifier,
        message: parked,
        parkId,
        maxDepth: settings.maxQueueLength,
        handOff: handOffGrant(delivery),
      },
      retry,
    );
    if (outcome.outcome === 'parked') {
      logger.info('lockedHandler: parked', {
        ...context,
        outcome: 'parked',
        seq: outcome.seq,
        depth: outcome.depth,
      });
      if (outcome.dispatch) await dispatch(delivery, outcome.dispatch);
      return;
    }
    if (outcome.outcome === 'full') {
      logger.warn(
        "lockedHandler: the lock's waiting room is full; message re-queued",
        {...context, depth: outcome.depth},
      );
      await whenHeldWithoutRoom(delivery);
      return;
    }
  }
  // The lock kept changing hands between acquire and park: the re-queue decides.
  await whenHeldWithoutRoom(delivery);
}

/** Hands a lock this arrival took over to the oldest parked message, parking this one behind. */
async function parkBehind<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  held: Lock,
  parked: ReturnType<typeof parkedMessageOf>,
  parkId: string,
): Promise<void> {
  const {logger, context} = delivery;
  let parkedSeq: number | undefined;
  let next: ParkedRecord | undefined;
  await held.releaseVia(async backend => {
    const outcome = await attemptHandOff(
      room,
      {
        identifier: held.identifier,
        token: held.token,
        handOff: handOffGrant(delivery),
        park: {message: parked, parkId},
      },
      delivery.runtimeOf().config.retry,
      () => lockGone(delivery, backend),
    );
    if (!outcome.released) return false;
    parkedSeq = outcome.parkedSeq;
    next = outcome.dispatch;
    return true;
  });
  if (parkedSeq === undefined) {
    // Taken from us before the hand-off: Pub/Sub redelivers the message.
    throw held.signal.reason;
  }
  logger.info('lockedHandler: parked', {
    ...context,
    outcome: 'parked',
    seq: parkedSeq,
    behindStranded: true,
  });
  if (next) await dispatch(delivery, next);
}

/** The holder's release: the lock goes to the oldest parked message, whose wake-up is then published. */
async function handOff<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  held: Lock,
): Promise<boolean> {
  const handedAtMs = Date.now();
  let next: ParkedRecord | undefined;
  const released = await held.releaseVia(async (backend, record) => {
    const outcome = await attemptHandOff(
      room,
      {
        identifier: held.identifier,
        token: held.token,
        revision: releaseRevisionOf(record),
        handOff: handOffGrant(delivery),
      },
      delivery.runtimeOf().config.retry,
      () => lockGone(delivery, backend),
    );
    if (outcome.released) next = outcome.dispatch;
    return outcome.released;
  });
  if (next) {
    delivery.logger.info('lockedHandler: handed the lock on', {
      identifier: held.identifier,
      seq: next.seq,
      handedAtMs,
    });
    await dispatch(delivery, next);
  }
  return released;
}

/**
 * Publishes a dispatched message's wake-up. A failure is logged, not thrown: the lock is handed to
 * that message for the hand-off lease, after which the next arrival or cleanup dispatches it again.
 */
async function dispatch<E>(
  delivery: Delivery<E>,
  record: ParkedRecord,
): Promise<void> {
  try {
    await publishWakeUp(delivery.publisher, record);
  } catch (error) {
    delivery.logger.error(
      "lockedHandler: a parked message's wake-up could not be published; it is dispatched again once its hand-off lease lapses",
      {
        ...delivery.context,
        seq: record.seq,
        handOffLeaseMs: delivery.settings.handOffLeaseMs,
        detail: (error as Error)?.message,
      },
    );
  }
}

function handOffGrant<E>(delivery: Delivery<E>): HandOffGrant {
  return {token: randomUUID(), leaseMs: delivery.settings.handOffLeaseMs};
}

async function lockGone<E>(
  delivery: Delivery<E>,
  backend: Parameters<typeof attemptPeek>[0],
): Promise<boolean> {
  return (
    (await attemptPeek(
      backend,
      delivery.identifier,
      delivery.runtimeOf().config.retry,
    )) === null
  );
}
