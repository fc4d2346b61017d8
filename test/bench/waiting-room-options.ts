import {asksForHelp, HelpRequested} from '../../infra/cli/command-line';

const BURSTS = ['oneKey', 'tenKeys'] as const;
const MODES = ['baseline', 'waitingRoom'] as const;

export const WAITING_ROOM_USAGE = `usage: node dist/test/bench/waiting-room-main.js [--datastore-mode] [--native] [oneKey|tenKeys]... [baseline|waitingRoom]...

The waiting-room section of npm run bench alone. Starts its own emulators (legacy Datastore, Pub/Sub;
Firestore in Datastore mode with --datastore-mode, Firestore native mode with --native), prints the section's Markdown, and each burst's figures as JSON
on stderr. Naming a burst or a mode runs only those (both when one of the pair is not named).

  --datastore-mode  also run on Firestore in Datastore mode (production Datastore's engine)
  --native          also run on Firestore in native mode
  oneKey            the burst on one key       tenKeys        the burst on ten keys
  baseline          without the waiting room   waitingRoom    with it
  -h, --help        print this and exit`;

export interface WaitingRoomArgs {
  readonly datastoreMode: boolean;
  readonly native: boolean;
  /** Empty: every burst. */
  readonly bursts: readonly (typeof BURSTS)[number][];
  /** Empty: every mode. */
  readonly modes: readonly (typeof MODES)[number][];
}

/** A word it does not know is refused: a typo must not silently run the whole section. */
export function parseWaitingRoomArgs(argv: readonly string[]): WaitingRoomArgs {
  if (asksForHelp(argv)) throw new HelpRequested(WAITING_ROOM_USAGE);
  const bursts: (typeof BURSTS)[number][] = [];
  const modes: (typeof MODES)[number][] = [];
  let native = false;
  let datastoreMode = false;
  for (const arg of argv) {
    if (arg === '--native') native = true;
    else if (arg === '--datastore-mode') datastoreMode = true;
    else if ((BURSTS as readonly string[]).includes(arg))
      bursts.push(arg as (typeof BURSTS)[number]);
    else if ((MODES as readonly string[]).includes(arg))
      modes.push(arg as (typeof MODES)[number]);
    else
      throw new Error(
        `unexpected argument ${JSON.stringify(arg)}: takes --datastore-mode, --native, ${[...BURSTS, ...MODES].join(', ')}`,
      );
  }
  return {datastoreMode, native, bursts, modes};
}
