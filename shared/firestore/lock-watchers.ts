import type { DocumentReference, DocumentSnapshot } from '@google-cloud/firestore';
import { decodeLock } from './lock-document';

/**
 * Real-time listeners on lock documents, for waiters: one listener per lock per process, however
 * many waiters (and steal groups) watch it, opened by the first and closed LINGER_MS after the last
 * leaves (its timer unref'd: it never keeps a process alive).
 * A watcher is told when the lock may have become free: its document was deleted, or its lease ran
 * out (judged on the store's clock: the snapshot's update time against its read time; an expiry
 * writes nothing, so a timer stands in for it).
 *
 * The listener only hastens a poll; it never grants anything, and waiters keep polling with
 * backoff. When the stream breaks, every watcher is told at once (so it polls now), the listener is
 * dropped, and polling carries on alone; the next waiter to arrive listens afresh.
 */
export class LockWatchers {
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly refOf: (identifier: string) => DocumentReference) {}

  watch(identifier: string, onChange: () => void): () => void {
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
    const watcher = () => onChange();
    own.watchers.add(watcher);
    return () => {
      own.watchers.delete(watcher);
      if (own.watchers.size > 0 || own.closing) return;
      // Kept a moment (never keeping the process alive): a poller that got the lock leaves before
      // the next waiter in line, which watches only once it finds the lock held, a round trip
      // later; closing at once would reopen the stream (and pay its initial read) on every hand-off.
      own.closing = setTimeout(() => {
        own.closing = undefined;
        if (own.watchers.size === 0) this.close(identifier, own);
      }, LINGER_MS);
      own.closing.unref();
    };
  }

  /** Listeners open now; for tests and diagnostics. */
  openListeners(): number {
    return this.listeners.size;
  }

  private listen(identifier: string): Listener {
    const listener: Listener = { watchers: new Set(), stop: () => undefined, expiry: undefined, closing: undefined };
    const tell = () => {
      for (const watcher of [...listener.watchers]) watcher();
    };
    listener.stop = this.refOf(identifier).onSnapshot(
      (snapshot) => {
        clearTimeout(listener.expiry);
        listener.expiry = undefined;
        if (!snapshot.exists) return tell();
        const leftMs = leaseLeftMs(snapshot);
        if (leftMs !== undefined) {
          // A margin past the end: a poll made just before it would still find the lease live.
          listener.expiry = setTimeout(tell, Math.max(0, leftMs) + EXPIRY_MARGIN_MS);
          listener.expiry.unref();
        }
      },
      () => {
        this.close(identifier, listener);
        tell();
      },
    );
    return listener;
  }

  private close(identifier: string, listener: Listener): void {
    clearTimeout(listener.expiry);
    clearTimeout(listener.closing);
    listener.stop();
    if (this.listeners.get(identifier) === listener) this.listeners.delete(identifier);
  }
}

interface Listener {
  readonly watchers: Set<() => void>;
  stop: () => void;
  expiry: ReturnType<typeof setTimeout> | undefined;
  closing: ReturnType<typeof setTimeout> | undefined;
}

const EXPIRY_MARGIN_MS = 5;
export const LINGER_MS = 1000;

function leaseLeftMs(snapshot: DocumentSnapshot): number | undefined {
  const lock = decodeLock(snapshot);
  if (lock?.leaseMs === undefined || !snapshot.updateTime || !snapshot.readTime) return undefined;
  return lock.leaseMs - (snapshot.readTime.toMillis() - snapshot.updateTime.toMillis());
}
