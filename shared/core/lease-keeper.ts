/**
 * Keeps a lease alive in the background: renews at about a third of the lease, so two renewals can
 * fail in a row and the lease still holds. A renewal that fails (the store is unavailable) is
 * tried again sooner; when none has succeeded for a whole lease, the lock is lost, because from
 * then on another holder may have taken it. Timers never keep a process alive.
 */
export interface LeaseKeeperTarget {
  readonly leaseMs: number;
  /** Renews once: `true` renewed, `false` the lock is no longer ours; rejects when the store failed. */
  renew(): Promise<boolean>;
  /** When the last successful renewal (or the grant) was sent, on this host's clock. */
  lastConfirmedAt(): number;
  /** Called once, when the lease is known lost. */
  lost(reason: string): void;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly target: LeaseKeeperTarget) {
    // A grant that took long to arrive (a cold client's first call) is renewed that much sooner.
    this.schedule(
      Math.max(
        0,
        target.lastConfirmedAt() + intervalOf(target.leaseMs) - Date.now(),
      ),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const {leaseMs} = this.target;
    try {
      if (!(await this.target.renew())) {
        this.stop();
        return; // renew() reported the loss itself
      }
      this.schedule(intervalOf(leaseMs));
    } catch {
      const leftMs = this.target.lastConfirmedAt() + leaseMs - Date.now();
      if (leftMs <= 0) {
        this.stop();
        this.target.lost(
          `renewals kept failing until the ${leaseMs} ms lease ran out`,
        );
        return;
      }
      // Try again well before the lease runs out, and once more at its very end.
      this.schedule(Math.max(1, Math.min(intervalOf(leaseMs) / 2, leftMs)));
    }
  }
}

/** About a third of the lease. */
export function intervalOf(leaseMs: number): number {
  return Math.max(1, Math.floor(leaseMs / 3));
}
