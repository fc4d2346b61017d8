/**
 * Calls `onEnd` once `endsAt()` has passed, so a holder hears that its lease is over even when
 * nothing renews it any more (renewal stopped, never started, or its calls hang). `endsAt` is read
 * again at every wake-up, because a renewal moves the end later. A timer can fire late (after a
 * pause, behind I/O callbacks), so it is not the only judge: Lock also checks the clock whenever
 * its signal is read. Timers never keep a process alive.
 */
export class LeaseEndAlarm {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly endsAt: () => number,
    private readonly onEnd: () => void,
  ) {
    this.#wake();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #wake(): void {
    if (this.#stopped) return;
    const leftMs = this.endsAt() - Date.now();
    if (leftMs <= 0) {
      this.onEnd();
      return;
    }
    this.#timer = setTimeout(() => this.#wake(), leftMs);
    this.#timer.unref();
  }
}
