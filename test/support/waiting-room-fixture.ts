import {randomUUID} from 'node:crypto';
import {
  createLocking,
  LockKind,
  type LockBackend,
  type LockingConfig,
  type Locking,
} from '../../shared';
import {defaultBackend} from '../../shared/configuration/default-backends';
import {resolveLockingConfig} from '../../shared/configuration/resolve-config';
import type {
  HandOffGrant,
  ParkedMessage,
  WaitingRoomStore,
} from '../../shared/waiting-room/types';

/**
 * One waiting-room test's view of a STRONG store, in a namespace of its own: the backend the
 * library builds from the configuration (as the runtime's `backend(LockKind.STRONG)` does), its
 * waiting room, and a `Locking` instance on that same backend for the plain Lock API.
 */
export interface WaitingRoomFixture {
  readonly backend: LockBackend;
  readonly room: WaitingRoomStore;
  readonly locking: Locking;
  readonly namespace: string;
}

export async function waitingRoomFixture(
  config: LockingConfig,
  namespace: string,
): Promise<WaitingRoomFixture> {
  const backend = await defaultBackend(
    LockKind.STRONG,
    resolveLockingConfig({...config, namespace}),
  );
  const room = backend.waitingRoom;
  if (!room)
    throw new Error(
      'this STRONG backend has no waitingRoom (LockBackend.waitingRoom is not implemented)',
    );
  const locking = createLocking({
    strong: backend,
    retry: {initialMs: 5, maxMs: 50},
  });
  return {backend, room, locking, namespace};
}

/**
 * A first call on a fresh emulator's channel can outlast a store call's deadline (a cold JVM):
 * one acquire and release through the library, which retries, before any test counts on timing.
 */
export async function warmUpStore(config: LockingConfig): Promise<void> {
  const {room, locking} = await waitingRoomFixture(config, 'wr-warm-up');
  const giveUpAt = Date.now() + 50_000;
  for (;;) {
    try {
      const held = await locking.Lock.acquire(`warm-up:${randomUUID()}`, {
        leaseMs: 60_000,
      });
      await held?.release();
      await room.parked(`warm-up:${randomUUID()}`, 1);
      return;
    } catch (error) {
      if (Date.now() > giveUpAt) throw error;
    }
  }
}

/** Every byte value, so an encoding that is not byte-exact (UTF-8, base64 mix-ups) shows. */
const ALL_BYTES = Buffer.from(Array.from({length: 256}, (_, i) => i));

/**
 * A distinct message per `n`: binary data, attributes with non-ASCII and empty values, an ordering
 * key on even messages only (odd ones have '' for none).
 */
export function messageNo(n: number, retryTopic = 'wr-retry'): ParkedMessage {
  return {
    data: Buffer.concat([Buffer.from(`message ${n}:`), ALL_BYTES]),
    attributes: {
      n: String(n),
      'ünïcode-näme': 'välue ✓',
      empty: '',
    },
    orderingKey: n % 2 === 0 ? `key-${n}` : '',
    messageId: `message-id-${n}`,
    retryTopic,
  };
}

export function handOffGrant(leaseMs = 30_000): HandOffGrant {
  return {token: `handoff-${randomUUID()}`, leaseMs};
}

/** The race test's message `msg`: its messageId names it, so a dispatch says which message it is. */
export function raceMessage(msg: string): ParkedMessage {
  return {
    data: Buffer.from(msg),
    attributes: {msg},
    orderingKey: '',
    messageId: msg,
    retryTopic: 'wr-race',
  };
}
