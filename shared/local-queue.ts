import { interruptibleSleep, type InterruptibleSleep } from './backoff';

/**
 * Waiters in one process for one lock queue here in FIFO order, so only the first of them polls the
 * store; the rest cost nothing until their turn. Waiters are grouped by identifier and steal
 * setting: a waiter that may steal is never stuck behind one that may not.
 *
 * When a lock is released in this process, `wake(identifier)` cuts the current poller's backoff
 * short, so a local hand-off takes one store round trip instead of a backoff step.
 */
export class LocalWaitQueue {
  private readonly lines = new Map<string, Map<string, Line>>();

  /**
   * Resolves with a turn when this waiter may poll, or `null` when `deadline` (ms since the epoch,
   * `Infinity` for none) passed first.
   */
  enter(identifier: string, group: string, deadline: number): Promise<Turn | null> {
    const line = this.line(identifier, group);
    if (!line.active) return Promise.resolve(this.activate(identifier, group, line));
    return new Promise<Turn | null>((resolve) => {
      const waiter: Waiter = { resolve, timer: undefined };
      if (Number.isFinite(deadline)) {
        waiter.timer = setTimeout(() => {
          line.waiting.splice(line.waiting.indexOf(waiter), 1);
          resolve(null);
        }, Math.max(0, deadline - Date.now()));
      }
      line.waiting.push(waiter);
    });
  }

  /** Wakes whoever polls for `identifier` now, in every group. */
  wake(identifier: string): void {
    for (const line of this.lines.get(identifier)?.values() ?? []) line.active?.wakeSleeper();
  }

  /** Number of waiters queued or polling; for tests and diagnostics. */
  size(identifier: string): number {
    let count = 0;
    for (const line of this.lines.get(identifier)?.values() ?? []) count += line.waiting.length + (line.active ? 1 : 0);
    return count;
  }

  private line(identifier: string, group: string): Line {
    let groups = this.lines.get(identifier);
    if (!groups) this.lines.set(identifier, (groups = new Map()));
    let line = groups.get(group);
    if (!line) groups.set(group, (line = { active: undefined, waiting: [] }));
    return line;
  }

  private activate(identifier: string, group: string, line: Line): Turn {
    const turn = new Turn(() => {
      line.active = undefined;
      const next = line.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(this.activate(identifier, group, line));
      } else {
        this.forget(identifier, group);
      }
    });
    line.active = turn;
    return turn;
  }

  private forget(identifier: string, group: string): void {
    const groups = this.lines.get(identifier);
    groups?.delete(group);
    if (groups?.size === 0) this.lines.delete(identifier);
  }
}

/** The right to poll the store for one lock, held by one waiter until it leaves. */
export class Turn {
  private sleeper: InterruptibleSleep | undefined;
  private left = false;

  constructor(private readonly onLeave: () => void) {}

  /** Sleeps `ms`; resolves `true` when a local release woke it early. */
  async sleep(ms: number): Promise<boolean> {
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
