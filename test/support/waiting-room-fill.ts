import {randomUUID} from 'node:crypto';
import type {LockBackend} from '../../shared/core/backend';
import type {
  ParkedMessage,
  ParkRequest,
  WaitingRoomStore,
} from '../../shared/waiting-room/types';

/** Parks messages behind a held lock, for the tools that show the room (page, CLI), and empties it after. */
export interface Room {
  /** Parks `count` messages on the held lock, a few ms apart. */
  park(identifier: string, count: number): Promise<void>;
  /**
   * Releases the lock as a release outside lockedHandler does (HTTP, forceRelease): with messages
   * parked, the lock is left vacant, its room kept.
   */
  vacate(identifier: string, token: string): Promise<void>;
  /** Empties the room and releases the lock: held with `token`, or vacant without. */
  drain(identifier: string, token?: string): Promise<void>;
}

const HAND_OFF_LEASE_MS = 30_000;
const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The store's own waiting room, filled and emptied as lockedHandler does (park; hand-offs and
 * claims), for the tests of the tools that show it.
 */
export function parkBehind(real: LockBackend): {
  backend: LockBackend;
  room: Room;
} {
  if (!real.waitingRoom)
    throw new Error('every STRONG store keeps a waiting room');
  return {backend: real, room: storeRoom(real, real.waitingRoom)};
}

function parkRequest(identifier: string, index: number): ParkRequest {
  return {
    identifier,
    message: messageOf(index),
    parkId: randomUUID(),
    maxDepth: 1000,
    handOff: {token: randomUUID(), leaseMs: HAND_OFF_LEASE_MS},
  };
}

function messageOf(index: number): ParkedMessage {
  return {
    data: Buffer.from(JSON.stringify({index})),
    attributes: {},
    orderingKey: index % 2 ? 'odd' : '',
    messageId: `fill-${index}`,
    retryTopic: 'projects/unused/topics/unused',
  };
}

function storeRoom(real: LockBackend, store: WaitingRoomStore): Room {
  return {
    async park(identifier, count) {
      for (let index = 0; index < count; index++) {
        const outcome = await store.park(parkRequest(identifier, index));
        if (outcome.outcome !== 'parked')
          throw new Error(`parking behind ${identifier}: ${outcome.outcome}`);
        await pause(5);
      }
    },
    async vacate(identifier, token) {
      // No revision: the store's read path finds the room and vacates the lock.
      await real.release(identifier, token);
    },
    async drain(identifier, token) {
      // Hand off and claim until the room is empty: the last hand-off deletes the lock. A vacant
      // lock is handed to its head by a park (one more message, drained with the rest).
      let holder = token;
      if (holder === undefined) {
        const parked = await store.park(parkRequest(identifier, -1));
        if (parked.outcome !== 'parked' || !parked.dispatch)
          throw new Error(`draining vacant ${identifier}: ${parked.outcome}`);
        holder = randomUUID();
        const claimed = await store.claim({
          identifier,
          seq: parked.dispatch.seq,
          parkId: parked.dispatch.parkId,
          token: holder,
          leaseMs: HAND_OFF_LEASE_MS,
        });
        if (!claimed.claimed)
          throw new Error(`draining vacant ${identifier}: ${claimed.reason}`);
      }
      for (;;) {
        const released = await store.handOff({
          identifier,
          token: holder,
          handOff: {token: randomUUID(), leaseMs: HAND_OFF_LEASE_MS},
        });
        if (!released.released || !released.dispatch) return;
        holder = randomUUID();
        const claimed = await store.claim({
          identifier,
          seq: released.dispatch.seq,
          parkId: released.dispatch.parkId,
          token: holder,
          leaseMs: HAND_OFF_LEASE_MS,
        });
        if (!claimed.claimed)
          throw new Error(`draining ${identifier}: ${claimed.reason}`);
      }
    },
  };
}
