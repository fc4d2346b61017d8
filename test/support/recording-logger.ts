import type {LockLogger, LogFields} from '../../shared';

/** A LockLogger that keeps what it was given, for tests of what the library logs. */
export class RecordingLogger implements LockLogger {
  readonly entries: {level: string; message: string; fields: LogFields}[] = [];

  debug(message: string, fields: LogFields): void {
    this.entries.push({level: 'debug', message, fields});
  }
  info(message: string, fields: LogFields): void {
    this.entries.push({level: 'info', message, fields});
  }
  warn(message: string, fields: LogFields): void {
    this.entries.push({level: 'warn', message, fields});
  }
  error(message: string, fields: LogFields): void {
    this.entries.push({level: 'error', message, fields});
  }

  /** Everything logged, as one text (bigints as decimals). */
  text(): string {
    return JSON.stringify(this.entries, (_, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  }
}
