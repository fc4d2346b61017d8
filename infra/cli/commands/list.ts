import {listLocks} from '../../../shared';
import type {CliArguments} from '../arguments';
import {EXIT, type ExitCode} from '../exit-codes';
import {viewOf, type LockView} from '../../../functions/http/lock-view';
import {lockTable} from '../table';

export async function listedViews(args: CliArguments): Promise<LockView[]> {
  const locks = await listLocks({
    kind: args.kind,
    ...(args.prefix === undefined ? {} : {prefix: args.prefix}),
    ...(args.olderThanMs === undefined ? {} : {olderThanMs: args.olderThanMs}),
    ...(args.limit === undefined ? {} : {limit: args.limit}),
  });
  const now = Date.now();
  return locks.map(lock => viewOf(lock, now));
}

export async function list(
  args: CliArguments,
  write: (text: string) => void,
): Promise<ExitCode> {
  const views = await listedViews(args);
  write(args.json ? JSON.stringify(views) : lockTable(views, args.kind));
  return EXIT.ok;
}
