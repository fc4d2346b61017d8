import type {WaitingRoomStore} from './types';

const lines = new WeakMap<WaitingRoomStore, Map<string, Promise<void>>>();

/**
 * Runs `call` once this process's earlier waiting-room writes on the same lock have settled.
 *
 * Every park, hand-off and claim of a lock is a read-write transaction on its one entity or
 * document. Under pessimistic concurrency (Firestore in Datastore mode) two such transactions that
 * overlap both hold a read lock and both wait to write: one gives way only when the store's lock
 * timeout ends it (2 s on the emulator), and each retry can meet the next arrival the same way. An
 * instance that serves several messages at once (concurrency above 1) lined up behind itself like
 * that; in line, it meets only other instances' writes.
 */
export function oneAtATime<T>(
  room: WaitingRoomStore,
  identifier: string,
  call: () => Promise<T>,
): Promise<T> {
  let line = lines.get(room);
  if (!line) lines.set(room, (line = new Map()));
  const turn = (line.get(identifier) ?? Promise.resolve()).then(call);
  const settled = turn.then(
    () => undefined,
    () => undefined,
  );
  line.set(identifier, settled);
  void settled.then(() => {
    if (line.get(identifier) === settled) line.delete(identifier);
  });
  return turn;
}

/** How many locks of `room` have a line in this process now (for diagnostics and tests): lines go when they empty. */
export function linesOpen(room: WaitingRoomStore): number {
  return lines.get(room)?.size ?? 0;
}
