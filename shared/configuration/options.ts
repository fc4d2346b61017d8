import {isLockKind, LockKind} from '../core/kinds';
import {
  booleanOption,
  durationOption,
  invalidArgument,
  leaseOption,
  objectOption,
  typeOf,
} from '../validation';

export interface LockOptions {
  /** Keep trying until acquired (default). `false`: one attempt, then bail. */
  wait?: boolean;
  /**
   * An existing lease-less lock held (since its grant or last renewal) for longer than this is
   * treated as absent and taken over. A live lease is never taken, whatever this says. Default: never.
   */
  stealAfterMs?: number;
  /**
   * The holder's lease: the lock is live until this long after its grant or last renewal, judged on
   * the store's clock where it reports one, and free to every acquire once it has expired. From 100
   * ms. Default: none (djangae's lock, which lives until released, stolen or cleaned up).
   */
  leaseMs?: number;
  /**
   * `Lock.acquire` only: renew the lease in the background, at about a third of `leaseMs`, until
   * `release()`. Needs `leaseMs`. (`lock().run`/`wrap` and `lockedHandler` renew whenever `leaseMs`
   * is set.)
   */
  autoRenew?: boolean;
  /**
   * Give up after this long. Default: no limit. A budget for the whole acquire: every store call is
   * bounded by what is left of it. With `wait: false` it bounds the one attempt.
   */
  waitForMs?: number;
  /** Default: STRONG. */
  kind?: LockKind;
  /**
   * Stops waiting when aborted: the acquire resolves `null` (a lock granted in that moment is
   * released). For a caller that goes away, such as an HTTP client that disconnected.
   */
  signal?: AbortSignal;
}

export interface ResolvedLockOptions {
  readonly wait: boolean;
  readonly stealAfterMs: number | undefined;
  readonly waitForMs: number | undefined;
  readonly kind: LockKind;
  readonly signal: AbortSignal | undefined;
  readonly leaseMs: number | undefined;
  readonly autoRenew: boolean;
}

export const DEFAULT_LOCK_OPTIONS: Readonly<{
  wait: true;
  kind: LockKind.STRONG;
}> = Object.freeze({
  wait: true,
  kind: LockKind.STRONG,
});

/** Merges the defaults and validates, in one place, so every entry point accepts the same input. */
export function resolveLockOptions(
  options: LockOptions = {},
): ResolvedLockOptions {
  objectOption('options', options);
  const wait = booleanOption('wait', options.wait, DEFAULT_LOCK_OPTIONS.wait);
  const kind = options.kind ?? DEFAULT_LOCK_OPTIONS.kind;
  if (!isLockKind(kind)) {
    throw invalidArgument(
      `kind must be "STRONG" or "WEAK", got ${JSON.stringify(kind)}`,
    );
  }
  if (
    options.signal !== undefined &&
    !(options.signal instanceof AbortSignal)
  ) {
    throw invalidArgument(
      `signal must be an AbortSignal, got ${typeOf(options.signal)}`,
    );
  }
  const leaseMs = leaseOption(options.leaseMs);
  const autoRenew = booleanOption('autoRenew', options.autoRenew, false);
  if (autoRenew && leaseMs === undefined)
    throw invalidArgument('autoRenew needs leaseMs: it renews the lease');
  return {
    wait,
    kind,
    stealAfterMs: durationOption('stealAfterMs', options.stealAfterMs),
    waitForMs: durationOption('waitForMs', options.waitForMs),
    signal: options.signal,
    leaseMs,
    autoRenew,
  };
}
