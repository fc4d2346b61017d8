import {LockError} from '../core/errors';
import {typeOf} from '../validation';

export type LogFields = Record<string, unknown>;

/**
 * Where the library reports what it did on its own initiative (lockedHandler's decisions, a forced
 * release). `console` fits; the functions give one that writes Cloud Logging's structured JSON.
 * The library never passes a lock token in `fields`: it is the holder's capability to release.
 */
export interface LockLogger {
  debug(message: string, fields: LogFields): void;
  info(message: string, fields: LogFields): void;
  warn(message: string, fields: LogFields): void;
  error(message: string, fields: LogFields): void;
}

/** The default: a library prints nothing unless its caller asks. */
const SILENT_LOGGER: LockLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export function loggerOption(logger: unknown): LockLogger {
  if (logger === undefined) return SILENT_LOGGER;
  if (
    logger === null ||
    typeof logger !== 'object' ||
    LEVELS.some(level => typeof (logger as LockLogger)[level] !== 'function')
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `logger must be an object with debug, info, warn and error methods, got ${typeOf(logger)}`,
    );
  }
  return logger as LockLogger;
}
