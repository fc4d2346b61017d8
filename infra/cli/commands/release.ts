import {forceRelease} from '../../../shared';
import type {CliArguments} from '../arguments';
import {CliError, EXIT, type ExitCode} from '../exit-codes';
import {viewOf} from '../../../functions/http/lock-view';

/**
 * An operator's forced release. Without `--force` it refuses: the holder does not stop when its
 * lock goes, so the work it protects may then run twice at once.
 */
export async function release(
  args: CliArguments,
  write: (text: string) => void,
): Promise<ExitCode> {
  const identifier = args.identifier as string;
  if (!args.force) {
    throw new CliError(
      EXIT.usage,
      `refusing to release ${JSON.stringify(identifier)} without --force: whoever holds it keeps running unaware (it learns only at its next renewal or release), so the work the lock protects may run twice at once; if the holder is gone or stuck, run again with --force`,
    );
  }
  // forceRelease logs what it removed (never the token), as a WARNING line on stderr.
  const removed = await forceRelease(identifier, {kind: args.kind});
  if (!removed) {
    write(
      args.json
        ? JSON.stringify({released: false})
        : `no ${args.kind} lock ${JSON.stringify(identifier)} was held; nothing removed`,
    );
    return EXIT.notFound;
  }
  const view = viewOf(removed);
  write(
    args.json
      ? JSON.stringify({released: true, removed: view})
      : `removed ${JSON.stringify(identifier)} (holder ${view.holderId}${view.fence ? `, fence ${view.fence}` : ''})`,
  );
  return EXIT.ok;
}
