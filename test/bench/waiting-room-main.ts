/**
 * The waiting-room section of `npm run bench` alone (it takes a minute or two, the whole bench
 * much longer): `node dist/test/bench/waiting-room-main.js [--datastore-mode] [--native] [oneKey|tenKeys]
 * [baseline|waitingRoom]` (`--help`: waiting-room-options.ts). Starts its own emulators (legacy Datastore, Pub/Sub; Firestore in
 * Datastore mode with --datastore-mode, native mode with --native), prints the section's Markdown, and each burst's figures as JSON on stderr.
 */
import {startEmulator} from '../../infra/emulators';
import type {RunningService} from '../../infra/processes';
import {commandLineOrUsage} from '../support/main-command-line';
import {
  parseWaitingRoomArgs,
  type WaitingRoomArgs,
} from './waiting-room-options';
import {
  measurePushFloor,
  ONE_KEY,
  report,
  runBurst,
  TEN_KEYS,
  storesOf,
  waitingRoomBench,
  type BurstResult,
  type Mode,
} from './waiting-room';

const PROJECT = 'bench-project';

async function main(args: WaitingRoomArgs): Promise<void> {
  const services: RunningService[] = [];
  try {
    const starting = await Promise.allSettled([
      startEmulator('datastore-legacy'),
      startEmulator('pubsub'),
      args.datastoreMode
        ? startEmulator('datastore-firestore')
        : Promise.resolve(undefined),
      args.native
        ? startEmulator('firestore-native')
        : Promise.resolve(undefined),
    ]);
    for (const outcome of starting)
      if (outcome.status === 'fulfilled' && outcome.value)
        services.push(outcome.value);
    const failed = starting.find(outcome => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [legacy, pubsub, datastoreMode, native] = starting.map(outcome =>
      outcome.status === 'fulfilled' ? outcome.value : undefined,
    ) as [
      RunningService,
      RunningService,
      RunningService | undefined,
      RunningService | undefined,
    ];
    Object.assign(process.env, {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      METADATA_SERVER_DETECTION: 'none',
    });
    const options = {
      project: PROJECT,
      legacyHost: legacy.host,
      ...(datastoreMode ? {datastoreModeHost: datastoreMode.host} : {}),
      ...(native ? {nativeHost: native.host} : {}),
    };
    const bursts = [ONE_KEY, TEN_KEYS].filter(burst =>
      args.bursts.includes(burst.name),
    );
    const modes = (['baseline', 'waitingRoom'] as Mode[]).filter(mode =>
      args.modes.includes(mode),
    );
    const startedAt = Date.now();
    let lines: string[];
    if (bursts.length === 0 && modes.length === 0)
      ({lines} = await waitingRoomBench(options));
    else {
      const results: BurstResult[] = [];
      for (const store of storesOf(options))
        for (const burst of bursts.length ? bursts : [ONE_KEY, TEN_KEYS])
          for (const mode of modes.length
            ? modes
            : (['baseline', 'waitingRoom'] as Mode[])) {
            const result = await runBurst(options, store, mode, burst);
            console.error(JSON.stringify(result));
            results.push(result);
          }
      lines = report(results, await measurePushFloor(PROJECT));
    }
    console.log(lines.join('\n'));
    console.log(`(${Math.round((Date.now() - startedAt) / 1000)} s)`);
  } finally {
    await Promise.all(services.map(service => service.stop()));
  }
}

// `--help` (or an unknown word) is answered before any emulator starts.
const commandLine = commandLineOrUsage('waiting-room', () =>
  parseWaitingRoomArgs(process.argv.slice(2)),
);
if (commandLine)
  main(commandLine.args).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
