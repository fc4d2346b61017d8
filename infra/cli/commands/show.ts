import {peek} from '../../../shared/peek';
import type {CliArguments} from '../arguments';
import {EXIT, type ExitCode} from '../exit-codes';
import {viewOf} from '../../../functions/http/lock-view';
import {lockDetails} from '../table';

export async function show(
  args: CliArguments,
  write: (text: string) => void,
): Promise<ExitCode> {
  const identifier = args.identifier as string;
  const lock = await peek(identifier, {kind: args.kind});
  if (!lock) {
    write(
      args.json
        ? 'null'
        : `no ${args.kind} lock ${JSON.stringify(identifier)} is held`,
    );
    return EXIT.notFound;
  }
  const view = viewOf(lock);
  write(
    args.json ? JSON.stringify({kind: args.kind, ...view}) : lockDetails(view),
  );
  return EXIT.ok;
}
