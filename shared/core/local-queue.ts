import {interruptibleSleep, type InterruptibleSleep} from './backoff';
import type {LockKind} from './kinds';

/**
 * Waiters in one process for one lock queue here in FIFO order, so only the first of them polls the
 * store; the rest cost nothing until their turn. A lock is its kind and identifier: a STRONG and a
 * WEAK lock of one name live in different stores and never wait for each other. Within a lock,
 * waiters are grouped by steal setting: a waiter that may steal is never stuck behind one that may
 * not.
 *
 * When a lock is released in this process, `wake(kind, identifier)` cuts the current poller's
 * backoff short, so a local hand-off takes one store round trip instead of a backoff step.
 */
export class LocalWaitQueue {
  /** By lock (see lockName), then by steal group. */
  private readonly lines = new Map<string, Map<string, Line>>();

  /**
   * Resolves with a turn when this waiter may poll, or `null` when `deadline` (ms since the epoch,
   * `Infinity` for none) passed or `signal` aborted first.
   */
  enter(
    kind: LockKind,
    identifier: string,
    group: string,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<Turn | null> {
    const lock = lockName(kind, identifier);
    const line = this.line(lock, group);
    if (signal?.aborted) return Promise.resolve(null);
    if (!line.active) return Promise.resolve(this.activate(lock, group, line));
    return new Promise<Turn | null>(resolve => {
      const giveUp = () => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', giveUp);
        const index = line.waiting.indexOf(waiter);
        if (index >= 0) line.waiting.splice(index, 1);
        resolve(null);
      };
      const waiter: Waiter = {
        resolve: turn => {
          signal?.removeEventListener('abort', giveUp);
          resolve(turn);
        },
        timer: Number.isFinite(deadline)
          ? setTimeout(giveUp, Math.max(0, deadline - Date.now()))
          : undefined,
      };
      signal?.addEventListener('abort', giveUp, {once: true});
      line.waiting.push(waiter);
    });
  }

  /** Wakes whoever polls for this lock now, in every group. */
  wake(kind: LockKind, identifier: string): void {
    for (const line of this.lines.get(lockName(kind, identifier))?.values() ??
      [])
      line.active?.wakeSleeper();
  }

  /** Number of waiters queued or polling for this lock; for tests and diagnostics. */
  size(kind: LockKind, identifier: string): number {
    let count = 0;
    for (const line of this.lines.get(lockName(kind, identifier))?.values() ??
      [])
      count += line.waiting.length + (line.active ? 1 : 0);
    return count;
  }

  private line(lock: string, group: string): Line {
    let groups = this.lines.get(lock);
    if (!groups) this.lines.set(lock, (groups = new Map()));
    let line = groups.get(group);
    if (!line) groups.set(group, (line = {active: undefined, waiting: []}));
    return line;
  }

  private activate(lock: string, group: string, line: Line): Turn {
    const turn = new Turn(() => {
      line.active = undefined;
      const next = line.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(this.activate(lock, group, line));
      } else {
        this.forget(lock, group);
      }
    });
    line.active = turn;
    return turn;
  }

  private forget(lock: string, group: string): void {
    const groups = this.lines.get(lock);
    groups?.delete(group);
    if (groups?.size === 0) this.lines.delete(lock);
  }
}

/** The kind cannot contain the separator, so no two locks share a name. */
function lockName(kind: LockKind, identifier: string): string {
  return `${kind}:${identifier}`;
}

/** The right to poll the store for one lock, held by one waiter until it leaves. */
export class Turn {
  private sleeper: InterruptibleSleep | undefined;
  private left = false;
  /** A change pushed by the store while this turn was not sleeping: the next sleep is skipped. */
  private nudged = false;

  constructor(private readonly onLeave: () => void) {}

  /** Sleeps `ms`; resolves `true` when woken early (a local release, or a change the store pushed). */
  async sleep(ms: number): Promise<boolean> {
    if (this.nudged) {
      this.nudged = false;
      return true;
    }
    this.sleeper = interruptibleSleep(ms);
    try {
      return await this.sleeper.done;
    } finally {
      this.sleeper = undefined;
    }
  }

  wakeSleeper(): void {
    this.sleeper?.wake();
  }

  /** Like wakeSleeper, but a change that arrives mid-attempt is kept for the next sleep, so it is never missed. */
  nudge(): void {
    if (this.sleeper) this.sleeper.wake();
    else this.nudged = true;
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.onLeave();
  }
}

interface Line {
  active: Turn | undefined;
  waiting: Waiter[];
}

interface Waiter {
  resolve: (turn: Turn | null) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}
