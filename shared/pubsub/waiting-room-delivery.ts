import {randomUUID} from 'node:crypto';
import {attemptPeek} from '../core/attempts';
import {LockKind} from '../core/kinds';
import {acquireIn, Lock} from '../core/lock';
import {observeHandlerRun, observeRequeue} from '../telemetry/lock-telemetry';
import {
  noteDispatch,
  notePark,
  noteWoken,
} from '../telemetry/waiting-room-telemetry';
import {
  attemptClaim,
  attemptHandOff,
  attemptPark,
  type RoomTries,
} from '../waiting-room/attempts';
import {hasParked, parkable, releaseRevisionOf} from '../waiting-room/state';
import type {LockRecord} from '../core/backend';
import type {
  ClaimedHead,
  HandOffGrant,
  ParkedMessage,
  ParkedRecord,
  WaitingRoomStore,
} from '../waiting-room/types';
import type {Delivery} from './delivery';
import type {PubSubCloudEvent} from './locked-handler';
import {whenHeldWithoutRoom} from './requeue';
import {
  ATTEMPT_ATTRIBUTE,
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
 * A delivery to a lockedHandler with a waiting room (see docs/locked-handler.md, "The waiting room"):
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
  const sentAt = Date.now();
  const tries: RoomTries = {tries: 0};
  const claim = await attemptClaim(
    room,
    {
      identifier,
      seq: wake.seq,
      parkId: wake.parkId,
      token: randomUUID(),
      leaseMs: settings.leaseMs,
    },
    runtimeOf().config.retry,
    tries,
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
  await runClaimed(delivery, room, claim.record, claim.parked, sentAt, {
    claimMs: Date.now() - sentAt,
    claimTries: tries.tries,
  });
  return true;
}

/**
 * Runs a parked message whose claim succeeded (or dead-letters it when it waited past maxWaitMs),
 * then hands the lock on.
 */
async function runClaimed<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  record: LockRecord,
  parked: ParkedRecord,
  sentAt: number,
  how: {claimMs: number; claimTries: number} | 'drained',
): Promise<void> {
  const {settings, logger, context} = delivery;
  const held = Lock.fromRecord(
    delivery.runtimeOf(),
    LockKind.STRONG,
    record,
    sentAt,
    true,
  );
  const parkedMs = Date.now() - parked.parkedAt.getTime();
  noteWoken(delivery.subject, parkedMs);
  if (parkedMs > settings.maxWaitMs) {
    if (settings.deadLetterTopic) {
      await deadLetterOverdue(delivery, room, held, parked, parkedMs);
      return;
    }
    logger.warn(
      'lockedHandler: a parked message waited longer than maxWaitMs and there is no deadLetterTopic; it runs now',
      {...context, seq: parked.seq, parkedMs},
    );
  }
  logger.info('lockedHandler: running', {
    ...context,
    outcome: 'woken',
    seq: parked.seq,
    parkedMs,
    ...(how === 'drained' ? {drained: true} : how),
    receivedAtMs: delivery.startedAt,
    startedAtMs: Date.now(),
  });
  await runAndHandOn(
    delivery,
    room,
    held,
    how === 'drained' ? parked : undefined,
  );
}

/**
 * Runs the handler holding the lock and hands the lock on at release. While its drain budget lasts
 * (and the handler succeeded), the hand-off's own commit grants the lock to this invocation for the
 * next parked message, which then runs here: no publish, no push, no separate claim. Otherwise the
 * next message's wake-up is published.
 */
async function runAndHandOn<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  held: Lock,
  drainedFrom?: ParkedRecord,
): Promise<void> {
  let next: ParkedRecord | undefined;
  let claimed: Drained | undefined;
  let failed = false;
  const handlerStartedAt = Date.now();
  try {
    await observeHandlerRun(delivery.subject, held.holderId, () =>
      runHolding(
        held,
        async () => {
          try {
            await delivery.handler(delivery.event, held);
          } catch (error) {
            failed = true;
            throw error;
          }
        },
        delivery.deadline,
        async () => {
          // A drained message has no delivery of its own that Pub/Sub would retry: when its
          // handler fails it goes back into the room, behind the others, in the hand-off's commit.
          const again =
            failed && drainedFrom ? parkedAgain(drainedFrom) : undefined;
          // Only a holder that is done and still holds its lease runs the next one itself: after
          // this release nothing may fail this invocation but the next message's own run.
          const drain = !failed && !held.signal.aborted && mayDrain(delivery);
          const outcome = await handOff(delivery, room, held, {
            ...(again ? {park: again} : {}),
            drain,
            handlerMs: Date.now() - handlerStartedAt,
          });
          next = outcome.next;
          claimed = outcome.claimed;
          return outcome.released;
        },
        {logger: delivery.logger, context: delivery.context},
      ),
    );
  } catch (error) {
    if (next) await dispatch(delivery, next);
    // Granted to this invocation in the hand-off's commit: it runs here, or it would wait a lease.
    if (claimed) await runDrained(delivery, room, claimed);
    throw error;
  }
  if (claimed) await runDrained(delivery, room, claimed);
  else if (next) await dispatch(delivery, next);
}

/** A parked message granted to this invocation by its hand-off (drain in place). */
interface Drained extends ClaimedHead {
  /** When the hand-off that granted it was sent: its lease is counted from then. */
  readonly sentAt: number;
}

/**
 * Whether an invocation that is handing its lock on may run the next parked message itself: within
 * its drain budget, and with at least half the function's timeout left, so the original delivery
 * is answered (acknowledged) long before the platform or the subscription's ack deadline gives up
 * on it.
 */
function mayDrain<E>(delivery: Delivery<E>): boolean {
  const {drainBudgetMs, deadlineMs} = delivery.settings;
  return (
    Date.now() - delivery.startedAt < Math.min(drainBudgetMs, deadlineMs / 2)
  );
}

/** The next parked message, run in this invocation under the grant its hand-off gave it. */
async function runDrained<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  claimed: Drained,
): Promise<void> {
  try {
    await runClaimed(
      deliveryOfParked(delivery, claimed.parked),
      room,
      claimed.record,
      claimed.parked,
      claimed.sentAt,
      'drained',
    );
  } catch (error) {
    // This invocation's own message already ran; the drained one is back in the room (or still
    // there, for a backstop to dispatch), so the original delivery must not fail for it.
    delivery.logger.error(
      'lockedHandler: a parked message run by the releasing invocation failed; it waits in the room again',
      {
        ...delivery.context,
        seq: claimed.parked.seq,
        detail: (error as Error)?.message,
      },
    );
  }
}

/** A drained message that failed, parked again with its attempt counted (`lock-attempt`). */
function parkedAgain(parked: ParkedRecord): {
  message: ParkedMessage;
  parkId: string;
} {
  const attempt = Number(parked.attributes[ATTEMPT_ATTRIBUTE] ?? 0);
  return {
    message: {
      data: parked.data,
      attributes: {
        ...parked.attributes,
        [ATTEMPT_ATTRIBUTE]: String(
          Number.isSafeInteger(attempt) ? attempt + 1 : 1,
        ),
      },
      orderingKey: parked.orderingKey,
      messageId: parked.messageId,
      retryTopic: parked.retryTopic,
    },
    parkId: randomUUID(),
  };
}

/** The delivery a parked message's own wake-up would have made, within this invocation. */
function deliveryOfParked<E>(
  delivery: Delivery<E>,
  parked: ParkedRecord,
): Delivery<E> {
  const message = {
    data: parked.data.toString('base64'),
    attributes: {...parked.attributes},
    messageId: parked.messageId,
    ...(parked.orderingKey ? {orderingKey: parked.orderingKey} : {}),
  };
  const base = delivery.event as unknown as PubSubCloudEvent;
  const event = {
    ...base,
    id: parked.messageId,
    data: {...base.data, message},
  } as unknown as E;
  return {
    ...delivery,
    event,
    message,
    context: {...delivery.context, messageId: parked.messageId, attempt: 0},
  };
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
    await observeRequeue(
      delivery.subject,
      'dead_letter',
      () =>
        publisher.publish(
          settings.deadLetterTopic as string,
          parked.data,
          {...parked.attributes, [DEAD_LETTER_REASON_ATTRIBUTE]: 'max_wait'},
          parked.orderingKey,
        ),
      'max_wait',
    );
  } catch (error) {
    held.stopRenewing();
    throw error;
  }
  logger.warn(
    'lockedHandler: a parked message waited longer than maxWaitMs; dead-lettered',
    {...context, outcome: 'dead_lettered', seq: parked.seq, parkedMs},
  );
  const {next} = await handOff(delivery, room, held, {drain: false});
  if (next) await dispatch(delivery, next);
}

async function deliverArrival<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
): Promise<void> {
  const {settings, logger, context, identifier, message, runtimeOf, event} =
    delivery;
  const retry = runtimeOf().config.retry;
  // Decoded only when the message must park: an uncontended arrival never copies its data.
  let parkedForm: ParkedMessage | undefined;
  const parkedMessage = () =>
    (parkedForm ??= parkedMessageOf(
      message,
      orderingKeyOf(message),
      context.messageId ?? (event as {id?: string}).id ?? '',
      settings.retryTopic as string,
    ));
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
      await parkBehind(delivery, room, held, parkedMessage(), parkId);
      return;
    }
    if (held) {
      logger.info('lockedHandler: running', {
        ...context,
        outcome: 'ran',
        receivedAtMs: delivery.startedAt,
        startedAtMs: Date.now(),
      });
      await runAndHandOn(delivery, room, held);
      return;
    }
    const parked = parkedMessage();
    if (!parkable(parked)) {
      logger.info(
        'lockedHandler: lock held and the message is too large to park; re-queued',
        {...context, bytes: parked.data.length},
      );
      notePark(delivery.subject, 'too_large');
      await whenHeldWithoutRoom(delivery);
      return;
    }
    const parkSentAt = Date.now();
    const tries: RoomTries = {tries: 0};
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
      tries,
    );
    if (outcome.outcome === 'parked') {
      logger.info('lockedHandler: parked', {
        ...context,
        outcome: 'parked',
        seq: outcome.seq,
        depth: outcome.depth,
        parkMs: Date.now() - parkSentAt,
        parkTries: tries.tries,
        receivedAtMs: delivery.startedAt,
      });
      notePark(delivery.subject, 'parked', outcome.depth);
      if (outcome.dispatch) {
        noteDispatch(delivery.subject, 'arrival');
        await dispatch(delivery, outcome.dispatch);
      }
      return;
    }
    if (outcome.outcome === 'full') {
      logger.warn(
        "lockedHandler: the lock's waiting room is full; message re-queued",
        {...context, depth: outcome.depth},
      );
      notePark(delivery.subject, 'full', outcome.depth);
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
  notePark(delivery.subject, 'parked');
  if (next) {
    noteDispatch(delivery.subject, 'arrival');
    await dispatch(delivery, next);
  }
}

/**
 * The holder's release: the lock goes to the oldest parked message, if any: to be published
 * (`next`), or, with `drain`, granted to this invocation to run it (`claimed`).
 */
async function handOff<E>(
  delivery: Delivery<E>,
  room: WaitingRoomStore,
  held: Lock,
  how: {
    park?: {message: ParkedMessage; parkId: string};
    drain: boolean;
    handlerMs?: number;
  },
): Promise<{released: boolean; next?: ParkedRecord; claimed?: Drained}> {
  const {park, drain} = how;
  const handedAtMs = Date.now();
  const tries: RoomTries = {tries: 0};
  let next: ParkedRecord | undefined;
  let claimed: Drained | undefined;
  const released = await held.releaseVia(async (backend, record) => {
    const sentAt = Date.now();
    const outcome = await attemptHandOff(
      room,
      {
        identifier: held.identifier,
        token: held.token,
        revision: park ? undefined : releaseRevisionOf(record),
        headHint: park ? undefined : nextHeadOf(record),
        handOff: handOffGrant(delivery),
        ...(park ? {park} : {}),
        ...(drain
          ? {
              claimNext: {
                token: randomUUID(),
                leaseMs: delivery.settings.leaseMs,
              },
            }
          : {}),
      },
      delivery.runtimeOf().config.retry,
      () => lockGone(delivery, backend),
      tries,
    );
    if (!outcome.released) return false;
    next = outcome.dispatch;
    if (outcome.claimed) claimed = {...outcome.claimed, sentAt};
    return true;
  });
  const handedTo = claimed?.parked ?? next;
  if (handedTo) {
    delivery.logger.info('lockedHandler: handed the lock on', {
      identifier: held.identifier,
      seq: handedTo.seq,
      handedAtMs,
      handOffMs: Date.now() - handedAtMs,
      handOffTries: tries.tries,
      drained: claimed !== undefined,
      ...(how.handlerMs === undefined ? {} : {handlerMs: how.handlerMs}),
    });
    noteDispatch(delivery.subject, 'release');
  }
  return {
    released,
    ...(next ? {next} : {}),
    ...(claimed ? {claimed} : {}),
  };
}

/**
 * Publishes a dispatched message's wake-up. A failure is logged, not thrown: the lock is handed to
 * that message for the hand-off lease, after which the next arrival or cleanup dispatches it again.
 */
async function dispatch<E>(
  delivery: Delivery<E>,
  record: ParkedRecord,
): Promise<void> {
  const publishedAtMs = Date.now();
  try {
    await publishWakeUp(delivery.publisher, record);
    delivery.logger.info(
      "lockedHandler: published a parked message's wake-up",
      {
        identifier: record.identifier,
        seq: record.seq,
        publishedAtMs,
        publishMs: Date.now() - publishedAtMs,
      },
    );
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

/**
 * Where the holder expects the room's head once its own message is out: the one after the message
 * it runs, or the room's head as it was granted (a room that was empty restarts at 0).
 */
function nextHeadOf(record: LockRecord): number {
  const room = record.waiting;
  if (room?.running !== undefined) return room.running + 1;
  return room?.head ?? 0;
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
