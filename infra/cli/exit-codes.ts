/** The CLI's exit codes: each kind of failure has its own, so scripts can tell them apart. */
export const EXIT = {
  ok: 0,
  /** `show` / `release`: there is no such lock. */
  notFound: 1,
  /** Bad arguments (and `release` without `--force`). */
  usage: 2,
  /** The environment names no project, has no credentials (and no emulator), or a LOCKS_* setting is invalid. */
  configuration: 3,
  /** The store did not answer: an emulator not running, a network down. */
  unreachable: 4,
  /** The store refused (permissions, a database that does not exist, ...). */
  storeFailure: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains in one line and exits with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
