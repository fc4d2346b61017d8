import {cleanupStaleLocks} from '../../../shared';
import type {CliArguments} from '../arguments';
import {formatDuration} from '../format-duration';
import type {CliEnvironment} from '../environment';
import {EXIT, type ExitCode} from '../exit-codes';

export async function cleanup(
  args: CliArguments,
  environment: CliEnvironment,
  write: (text: string) => void,
): Promise<ExitCode> {
  const maxAgeMs = args.maxAgeMs ?? environment.cleanupMaxAgeMs;
  const {deleted} = await cleanupStaleLocks({maxAgeMs});
  write(
    args.json
      ? JSON.stringify({deleted, maxAgeMs})
      : `removed ${deleted} abandoned STRONG lock${deleted === 1 ? '' : 's'} (expired leases; lease-less locks older than ${formatDuration(maxAgeMs)})`,
  );
  return EXIT.ok;
}
