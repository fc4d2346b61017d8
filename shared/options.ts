import { LockError } from './errors';
import { typeOf } from './identifier';
import { isLockKind, LockKind } from './kinds';

export interface LockOptions {
  /** Keep trying until acquired (default). `false`: one attempt, then bail. */
  wait?: boolean;
  /** An existing lock held for longer than this is treated as absent and taken over. Default: never. */
  stealAfterMs?: number;
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
}

export const DEFAULT_LOCK_OPTIONS: Readonly<{ wait: true; kind: LockKind.STRONG }> = Object.freeze({
  wait: true,
  kind: LockKind.STRONG,
});

/** Merges the defaults and validates, in one place, so every entry point accepts the same input. */
export function resolveLockOptions(options: LockOptions = {}): ResolvedLockOptions {
  if (options === null || typeof options !== 'object') {
    throw new LockError('INVALID_ARGUMENT', `options must be an object, got ${typeOf(options)}`);
  }
  const wait = options.wait ?? DEFAULT_LOCK_OPTIONS.wait;
  if (typeof wait !== 'boolean') {
    throw new LockError('INVALID_ARGUMENT', `wait must be a boolean, got ${typeOf(wait)}`);
  }
  const kind = options.kind ?? DEFAULT_LOCK_OPTIONS.kind;
  if (!isLockKind(kind)) {
    throw new LockError('INVALID_ARGUMENT', `kind must be "STRONG" or "WEAK", got ${JSON.stringify(kind)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new LockError('INVALID_ARGUMENT', `signal must be an AbortSignal, got ${typeOf(options.signal)}`);
  }
  return {
    wait,
    kind,
    stealAfterMs: durationOption('stealAfterMs', options.stealAfterMs),
    waitForMs: durationOption('waitForMs', options.waitForMs),
    signal: options.signal,
  };
}

/**
 * The longest duration accepted, about 31 years: anything longer means "never" (leave the option
 * out), and would push a stored expiry past what a Date or a Datastore timestamp can hold.
 */
export const MAX_DURATION_MS = 1e12;

/** A duration in milliseconds: a finite number from 0 to MAX_DURATION_MS, or absent. */
export function durationOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DURATION_MS) {
    throw new LockError('INVALID_ARGUMENT', `${name} must be a number of milliseconds from 0 to ${MAX_DURATION_MS}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeOf(value);
}
