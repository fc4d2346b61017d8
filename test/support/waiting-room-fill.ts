import {randomUUID} from 'node:crypto';
import type {LockBackend, LockRecord} from '../../shared/backend';
import type {
  ParkedMessage,
  ParkedRecord,
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
 * A STRONG backend whose locks can have messages parked. With a store that keeps a waiting room,
 * the room is the store's own (parked through `waitingRoom.park`, emptied by hand-offs and
 * claims, as lockedHandler does). A store without one yet gets `LockRecord.waiting` laid over
 * what it reads (list and peek), which is what the tools read: so the tools' tests run before a
 * store's waiting room lands, and through the real one after.
 */
export async function parkBehind(
  real: LockBackend,
): Promise<{backend: LockBackend; room: Room}> {
  if (real.waitingRoom)
    return {backend: real, room: storeRoom(real, real.waitingRoom)};
  return overlaidRoom(real);
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

function overlaidRoom(real: LockBackend): {backend: LockBackend; room: Room} {
  const rooms = new Map<string, ParkedRecord[]>();
  const overlay = (record: LockRecord): LockRecord => {
    const room = rooms.get(record.identifier);
    return room?.length
      ? {
          ...record,
          waiting: {
            head: 0,
            tail: room.length,
            oldestParkedAt: room[0]!.parkedAt,
          },
        }
      : record;
  };
  // Only what the tools read; the rest of a waiting room is the stores' own tests' business.
  const waitingRoom: Pick<WaitingRoomStore, 'parked'> = {
    parked: async (identifier, limit) =>
      (rooms.get(identifier) ?? []).slice(0, limit),
  };
  const backend = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'list')
        return async (...args: Parameters<NonNullable<LockBackend['list']>>) =>
          ((await target.list?.(...args)) ?? []).map(overlay);
      if (property === 'waitingRoom') return waitingRoom;
      if (property === 'peek')
        return async (identifier: string) => {
          const record = await target.peek(identifier);
          return record && overlay(record);
        };
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    backend,
    room: {
      async park(identifier, count) {
        const room = rooms.get(identifier) ?? [];
        rooms.set(identifier, room);
        for (let index = 0; index < count; index++) {
          room.push({
            ...messageOf(room.length),
            identifier,
            seq: room.length,
            parkId: randomUUID(),
            parkedAt: new Date(),
          });
          await pause(5);
        }
      },
      async vacate(identifier, token) {
        // Its record gone, the lock reads as vacant does: no holder to list or peek; the room stays.
        await real.release(identifier, token);
      },
      async drain(identifier, token) {
        rooms.delete(identifier);
        if (token !== undefined) await real.release(identifier, token);
      },
    },
  };
}
