import type {
  DocumentReference,
  DocumentSnapshot,
} from '@google-cloud/firestore';
import type {LockWatch} from '../../core/backend';
import {isVacant} from '../../waiting-room/state';
import {decodeLock, signedAtOf} from './lock-document';

/**
 * Real-time listeners on lock documents, for waiters: one listener per lock per process, however
 * many waiters (and steal groups) watch it, opened by the first and closed LINGER_MS after the last
 * leaves (its timer unref'd: it never keeps a process alive).
 *
 * A watcher is told when the lock may have become takeable for it: its document was deleted or
 * left vacant (released with messages parked: no holder), its lease ran out, or (a lock without a lease) it has been held longer than the watcher's
 * `stealAfterMs`. Time passing writes nothing, so timers stand in for the last two, set from the
 * holder's last sign of life on the store's clock (`signedAt`: a park writes the lock too, and is
 * no sign of life) against the snapshot's read time, plus what has passed here since the snapshot arrived. The snapshot arrives after its read
 * time, so a timer fires after the store would judge the lock takeable, never before.
 *
 * The listener only hastens a poll; it never grants anything. It is healthy once it has delivered
 * its first snapshot, so waiters may then poll only when told (and at a slow safety interval, see
 * waiting.ts). When the stream breaks, every watcher is told at once (so it polls now), the
 * listener is no longer healthy and is dropped, and its waiters go back to polling with backoff;
 * the next waiter to arrive listens afresh.
 */
export class LockWatchers {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly refOf: (identifier: string) => DocumentReference,
  ) {}

  watch(
    identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch {
    let listener = this.listeners.get(identifier);
    if (listener?.closing) {
      clearTimeout(listener.closing);
      listener.closing = undefined;
    }
    if (!listener) {
      listener = this.listen(identifier);
      this.listeners.set(identifier, listener);
    }
    const own = listener;
    const watcher: Watcher = {onChange, stealAfterMs, stealTimer: undefined};
    own.watchers.add(watcher);
    scheduleSteal(own, watcher);
    return {
      get healthy() {
        return own.healthy;
      },
      stop: () => {
        clearTimeout(watcher.stealTimer);
        if (!own.watchers.delete(watcher)) return;
        // A broken listener is already closed and dropped.
        if (
          own.watchers.size > 0 ||
          own.closing ||
          this.listeners.get(identifier) !== own
        )
          return;
        // Kept a moment (never keeping the process alive): a poller that got the lock leaves before
        // the next waiter in line, which watches only once it finds the lock held, a round trip
        // later; closing at once would reopen the stream (and pay its initial read) on every hand-off.
        own.closing = setTimeout(() => {
          own.closing = undefined;
          if (own.watchers.size === 0) this.close(identifier, own);
        }, LINGER_MS);
        own.closing.unref();
      },
    };
  }

  /** Listeners open now; for tests and diagnostics. */
  openListeners(): number {
    return this.listeners.size;
  }

  /** Whether this lock's listener has delivered its first snapshot and not failed; for tests and diagnostics. */
  listening(identifier: string): boolean {
    return this.listeners.get(identifier)?.healthy ?? false;
  }

  private listen(identifier: string): Listener {
    const listener: Listener = {
      watchers: new Set(),
      stop: () => undefined,
      healthy: false,
      held: undefined,
      expiry: undefined,
      closing: undefined,
    };
    const tell = () => {
      for (const watcher of [...listener.watchers]) watcher.onChange();
    };
    listener.stop = this.refOf(identifier).onSnapshot(
      snapshot => {
        listener.healthy = true;
        clearTimeout(listener.expiry);
        listener.expiry = undefined;
        listener.held = heldSince(snapshot);
        for (const watcher of listener.watchers)
          scheduleSteal(listener, watcher);
        if (!snapshot.exists) return tell();
        const lock = decodeLock(snapshot);
        if (lock && isVacant(lock)) return tell();
        const leftMs = leaseLeftMs(snapshot);
        if (leftMs !== undefined) {
          // A margin past the end: a poll made just before it would still find the lease live.
          listener.expiry = setTimeout(
            tell,
            Math.max(0, leftMs) + EXPIRY_MARGIN_MS,
          );
          listener.expiry.unref();
        }
      },
      () => {
        listener.healthy = false;
        this.close(identifier, listener);
        tell();
      },
    );
    return listener;
  }

  private close(identifier: string, listener: Listener): void {
    clearTimeout(listener.expiry);
    clearTimeout(listener.closing);
    for (const watcher of listener.watchers) clearTimeout(watcher.stealTimer);
    listener.stop();
    if (this.listeners.get(identifier) === listener)
      this.listeners.delete(identifier);
  }
}

interface Listener {
  readonly watchers: Set<Watcher>;
  stop: () => void;
  /** Delivered its first snapshot and has not failed. */
  healthy: boolean;
  /** The lock as the last snapshot showed it, when it is held without a lease (so only stealable). */
  held: HeldSince | undefined;
  expiry: ReturnType<typeof setTimeout> | undefined;
  closing: ReturnType<typeof setTimeout> | undefined;
}

interface Watcher {
  readonly onChange: () => void;
  /** The watcher's steal setting: it is told when a lease-less lock has been held longer. */
  readonly stealAfterMs: number | undefined;
  stealTimer: ReturnType<typeof setTimeout> | undefined;
}

/** A lease-less lock's age on the store's clock when its snapshot arrived, and when (here) that was. */
interface HeldSince {
  readonly sinceLastSignMs: number;
  readonly arrivedAt: number;
}

const EXPIRY_MARGIN_MS = 5;
export const LINGER_MS = 1000;

/** (Re)sets the timer that tells `watcher` when the lock the listener last saw becomes stealable for it. */
function scheduleSteal(listener: Listener, watcher: Watcher): void {
  clearTimeout(watcher.stealTimer);
  watcher.stealTimer = undefined;
  const held = listener.held;
  if (watcher.stealAfterMs === undefined || !held) return;
  // Strictly longer than stealAfterMs (taking-rules.ts), hence the margin.
  const dueInMs =
    held.arrivedAt +
    watcher.stealAfterMs -
    held.sinceLastSignMs -
    Date.now() +
    EXPIRY_MARGIN_MS;
  watcher.stealTimer = setTimeout(
    () => watcher.onChange(),
    Math.max(0, dueInMs),
  );
  watcher.stealTimer.unref();
}

function heldSince(snapshot: DocumentSnapshot): HeldSince | undefined {
  const lock = decodeLock(snapshot);
  const signedAt = signedAtOf(snapshot);
  if (!lock || lock.leaseMs !== undefined || !signedAt || !snapshot.readTime)
    return undefined;
  return {
    sinceLastSignMs: Math.max(
      0,
      snapshot.readTime.toMillis() - signedAt.toMillis(),
    ),
    arrivedAt: Date.now(),
  };
}

function leaseLeftMs(snapshot: DocumentSnapshot): number | undefined {
  const lock = decodeLock(snapshot);
  const signedAt = signedAtOf(snapshot);
  if (lock?.leaseMs === undefined || !signedAt || !snapshot.readTime)
    return undefined;
  return lock.leaseMs - (snapshot.readTime.toMillis() - signedAt.toMillis());
}
