import {LockError} from './errors';
import {typeOf} from './identifier';
import {isLockKind, LockKind} from './kinds';

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
  if (options === null || typeof options !== 'object') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `options must be an object, got ${typeOf(options)}`,
    );
  }
  const wait = options.wait ?? DEFAULT_LOCK_OPTIONS.wait;
  if (typeof wait !== 'boolean') {
    throw new LockError(
      'INVALID_ARGUMENT',
      `wait must be a boolean, got ${typeOf(wait)}`,
    );
  }
  const kind = options.kind ?? DEFAULT_LOCK_OPTIONS.kind;
  if (!isLockKind(kind)) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `kind must be "STRONG" or "WEAK", got ${JSON.stringify(kind)}`,
    );
  }
  if (
    options.signal !== undefined &&
    !(options.signal instanceof AbortSignal)
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `signal must be an AbortSignal, got ${typeOf(options.signal)}`,
    );
  }
  const leaseMs = leaseOption(options.leaseMs);
  const autoRenew = options.autoRenew ?? false;
  if (typeof autoRenew !== 'boolean')
    throw new LockError(
      'INVALID_ARGUMENT',
      `autoRenew must be a boolean, got ${typeOf(autoRenew)}`,
    );
  if (autoRenew && leaseMs === undefined)
    throw new LockError(
      'INVALID_ARGUMENT',
      'autoRenew needs leaseMs: it renews the lease',
    );
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

/**
 * The longest duration accepted, about 31 years: anything longer means "never" (leave the option
 * out), and would push a stored expiry past what a Date or a Datastore timestamp can hold.
 */
export const MAX_DURATION_MS = 1e12;

/** A duration in milliseconds: a finite number from 0 to MAX_DURATION_MS, or absent. */
export function durationOption(
  name: string,
  value: unknown,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    value > MAX_DURATION_MS
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `${name} must be a number of milliseconds from 0 to ${MAX_DURATION_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

/** The shortest lease: renewals every ~33 ms would cost more than the lock is worth. */
export const MIN_LEASE_MS = 100;

/** A lease in milliseconds: from MIN_LEASE_MS to MAX_DURATION_MS, or absent. */
export function leaseOption(
  value: unknown,
  name = 'leaseMs',
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < MIN_LEASE_MS ||
    value > MAX_DURATION_MS
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `${name} must be a number of milliseconds from ${MIN_LEASE_MS} to ${MAX_DURATION_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeOf(value);
}
