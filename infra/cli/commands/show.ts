import {LockKind, peek} from '../../../shared';
import {type PeekedParked, peekParked} from '../../../shared/internal';
import type {CliArguments} from '../arguments';
import {EXIT, type ExitCode} from '../exit-codes';
import {viewOf} from '../../../functions/http/lock-view';
import {lockDetails, parkedTable} from '../table';

/** How many parked messages `show` lists unless --limit says otherwise. */
export const SHOWN_PARKED = 20;

export async function show(
  args: CliArguments,
  write: (text: string) => void,
): Promise<ExitCode> {
  const identifier = args.identifier as string;
  const lock = await peek(identifier, {kind: args.kind});
  // The room is read only where there may be one: a lock that shows messages parked, or no
  // holder at all (a lock released outside lockedHandler is left vacant with its room).
  const parked =
    args.kind === LockKind.STRONG && (!lock || lock.waiting)
      ? await peekParked(identifier, args.limit ?? SHOWN_PARKED)
      : undefined;
  const now = Date.now();
  const room = parked?.map(record => parkedView(record, now));
  if (!lock) {
    if (room?.length) {
      write(
        args.json
          ? JSON.stringify({
              kind: args.kind,
              identifier,
              vacant: true,
              parked: room,
            })
          : `no holder: the ${args.kind} lock ${JSON.stringify(identifier)} is vacant, with messages parked (the next arrival or the cleanup hands it to the oldest)\n\n${parkedTable(room)}`,
      );
      return EXIT.ok;
    }
    write(
      args.json
        ? 'null'
        : `no ${args.kind} lock ${JSON.stringify(identifier)} is held`,
    );
    return EXIT.notFound;
  }
  const view = viewOf(lock, now);
  write(
    args.json
      ? JSON.stringify({
          kind: args.kind,
          ...view,
          ...(room ? {parked: room} : {}),
        })
      : `${lockDetails(view)}${room?.length ? `\n\n${parkedTable(room)}` : ''}`,
  );
  return EXIT.ok;
}

/** A parked message as `show` prints it (JSON-safe). */
export interface ParkedView {
  readonly seq: number;
  readonly parkedAt: string;
  readonly waitedMs: number;
  readonly messageId: string;
  readonly orderingKey: string;
  readonly bytes: number;
}

function parkedView(record: PeekedParked, now: number): ParkedView {
  return {
    seq: record.seq,
    parkedAt: record.parkedAt.toISOString(),
    waitedMs: now - record.parkedAt.getTime(),
    messageId: record.messageId,
    orderingKey: record.orderingKey,
    bytes: record.bytes,
  };
}
