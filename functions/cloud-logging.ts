import type {LockLogger} from '../shared';
import {log} from './log';

/**
 * The library's logger in the functions: one structured JSON line per entry on stdout (stderr for
 * WARNING and ERROR), as Cloud Logging reads them. The library never hands it a token.
 */
export const cloudLoggingLogger: LockLogger = {
  debug: (message, fields) => log('DEBUG', message, fields),
  info: (message, fields) => log('INFO', message, fields),
  warn: (message, fields) => log('WARNING', message, fields),
  error: (message, fields) => log('ERROR', message, fields),
};
