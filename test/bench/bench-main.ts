/**
 * `npm run bench`: speed and cost of this project's locks, side by side with the peer
 * (@google-automations/datastore-lock) and with the floor of the store, in one run on one machine,
 * so the ratios hold however noisy the machine is. Writes BENCHMARKS.md and benchmarks.json.
 * `--help` prints the usage (test/bench/bench-options.ts).
 */

import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {cpus, loadavg, totalmem} from 'node:os';
import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import {PubSub} from '@google-cloud/pubsub';
import {Client as MemjsClient} from 'memjs';
import {startEmulator} from '../../infra/emulators';
import {startMemcached} from '../../infra/memcached';
import {startValkey} from '../../infra/valkey';
import {runToEnd} from '../../infra/spawn-and-wait';
import {commandLineOrUsage} from '../support/main-command-line';
import {parseBenchArgs, type BenchOptions} from './bench-options';
import type {RunningService} from '../../infra/processes';
import {configureLocking, createLocking, Lock} from '../../shared';
import {createValkeyBackend} from '../../shared/stores/valkey';
import {valkeyRedis} from './weak-clients';
import {weakStores} from './weak-stores';
import {spliceSection} from './markdown-section';
import {lockedHandler} from '../../shared/pubsub';
import {
  firestoreFloor,
  floor,
  ourStrong,
  ourStrongFirestore,
  ourWeak,
  peer,
  weakOn,
  type Contender,
} from './contenders';
import {contended} from './contended';
import {countFirestoreCosts} from './firestore-cost';
import {renewal} from './renewal';
import {countCosts, type Cost} from './rpc-cost';
import {telemetryOverhead} from './telemetry-overhead';
import {waitingRoomBench} from './waiting-room';
import {median, percentile, round, timed} from './stats';

const PROJECT = 'bench-project';
const results: Record<string, unknown> = {};
const lines: string[] = [];
let sequence = 0;
const id = (label: string) => `bench-${label}-${process.pid}-${++sequence}`;

async function main(options: BenchOptions): Promise<void> {
  if (options.only === 'weak') return onlyWeak();
  const services: RunningService[] = [];
  try {
    // Every service that started is stopped, even when another failed to (a port taken meanwhile).
    const starting = await Promise.allSettled([
      startEmulator('datastore-firestore'),
      startEmulator('datastore-legacy'),
      startEmulator('firestore-native'),
      startMemcached(),
      startEmulator('pubsub'),
      startValkey(),
    ]);
    for (const outcome of starting)
      if (outcome.status === 'fulfilled') services.push(outcome.value);
    const failed = starting.find(outcome => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [firestore, legacy, native, memcached, pubsubEmulator, valkey] =
      services as [
        RunningService,
        RunningService,
        RunningService,
        RunningService,
        RunningService,
        RunningService,
      ];
    process.once(
      'SIGINT',
      () =>
        void Promise.all(services.map(service => service.stop())).finally(() =>
          process.exit(130),
        ),
    );
    Object.assign(process.env, {
      DATASTORE_EMULATOR_HOST: firestore.host,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PUBSUB_EMULATOR_HOST: pubsubEmulator.host,
      METADATA_SERVER_DETECTION: 'none',
    });
    const onFirestore = new Datastore({
      projectId: PROJECT,
      apiEndpoint: firestore.host,
    });
    const onLegacy = new Datastore({
      projectId: PROJECT,
      apiEndpoint: legacy.host,
    });
    const onNative = nativeClient(native.host);
    const memcache = MemjsClient.create(memcached.host, {
      logger: {log: () => undefined},
    });
    const redis = valkeyRedis(valkey.host);
    valkeyVersion = await serverVersion(redis);

    // Each row is judged against the floor of its own store.
    const rows: UncontendedRow[] = [
      {label: 'strong', contender: ourStrong(onFirestore), floor: 'floor'},
      {
        label: 'weak',
        contender: ourWeak(memcache, onFirestore),
        floor: 'floor',
      },
      {
        label: 'weakValkey',
        contender: weakOn(
          createLocking({weak: createValkeyBackend(redis)}),
          'this project, WEAK, Valkey',
        ),
        floor: 'floor',
      },
      {label: 'peer', contender: peer(), floor: 'floor'},
      {label: 'floor', contender: floor(onFirestore), floor: 'floor'},
      {
        label: 'strongLegacy',
        contender: ourStrong(onLegacy, 'this project, STRONG, legacy emulator'),
        floor: 'floorLegacy',
      },
      {label: 'floorLegacy', contender: floor(onLegacy), floor: 'floorLegacy'},
      {
        label: 'strongNative',
        contender: ourStrongFirestore(onNative),
        floor: 'floorNative',
      },
      {
        label: 'floorNative',
        contender: firestoreFloor(onNative),
        floor: 'floorNative',
      },
    ];
    await uncontended(rows);
    await cost(rows);
    const leases = await renewal(
      PROJECT,
      onLegacy,
      onFirestore,
      memcache,
      redis,
    );
    results.renewal = leases.result;
    lines.push(...leases.lines);
    const handoffs = await contended({
      datastoreHost: firestore.host,
      legacyHost: legacy.host,
      nativeHost: native.host,
      memcachedHost: memcached.host,
      valkeyHost: valkey.host,
      native: onNative,
      id,
    });
    results.contended = handoffs.result;
    lines.push(...handoffs.lines);
    await coldStart(firestore.host);
    await lockedHandlerOverhead(onFirestore);
    await telemetryOverhead(onLegacy, memcache, results, lines);
    const room = await waitingRoomBench({
      project: PROJECT,
      legacyHost: legacy.host,
      nativeHost: native.host,
    });
    results.waitingRoom = room.result;
    lines.push(...room.lines);
    redis.disconnect();
    lines.push('', ...(await weakSection(memcached.host, valkey.host)));
    write();
  } finally {
    await Promise.all(services.map(service => service.stop()));
  }
}

/** `--only weak`: that section alone, spliced into the BENCHMARKS.md already there. */
async function onlyWeak(): Promise<void> {
  const services: RunningService[] = [];
  try {
    const starting = await Promise.allSettled([
      startMemcached(),
      startValkey(),
    ]);
    for (const outcome of starting)
      if (outcome.status === 'fulfilled') services.push(outcome.value);
    const failed = starting.find(outcome => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [memcached, valkey] = services as [RunningService, RunningService];
    const redis = valkeyRedis(valkey.host);
    valkeyVersion = await serverVersion(redis);
    redis.disconnect();
    const section = await weakSection(memcached.host, valkey.host);
    const path = join(process.cwd(), 'BENCHMARKS.md');
    const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
    writeFileSync(path, spliceSection(before, section));
    console.log(section.join('\n'));
  } finally {
    await Promise.all(services.map(service => service.stop()));
  }
}

/** WEAK locks on Valkey beside memcached, with the machine's load around it (a shared machine). */
async function weakSection(
  memcachedHost: string,
  valkeyHost: string,
): Promise<string[]> {
  const loadBefore = loadavg()[0] as number;
  const started = new Date();
  const weak = await weakStores({memcached: memcachedHost, valkey: valkeyHost});
  const loadAfter = loadavg()[0] as number;
  results.weak = {...weak.result, loadBefore, loadAfter};
  const [heading, ...rest] = weak.lines;
  return [
    heading as string,
    '',
    `Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${round((Date.now() - started.getTime()) / 1000, 0)} s, on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${valkeyVersion}, memjs ${versionOf('memjs')}, iovalkey ${versionOf('iovalkey')}; 1-minute load average ${round(loadBefore, 1)} at the start and ${round(loadAfter, 1)} at the end.`,
    ...rest,
  ];
}

let valkeyVersion = 'a Valkey-protocol server';
async function serverVersion(redis: ReturnType<typeof valkeyRedis>) {
  const info = String(await redis.call('INFO', 'server'));
  const valkey = /^valkey_version:(\S+)/m.exec(info)?.[1];
  const redisVersion = /^redis_version:(\S+)/m.exec(info)?.[1];
  return valkey ? `Valkey ${valkey}` : `Redis ${redisVersion ?? 'unknown'}`;
}

function versionOf(name: string): string {
  return (require(`${name}/package.json`) as {version: string}).version;
}

interface UncontendedRow {
  readonly label: string;
  readonly contender: Contender;
  /** The label of the row that is this row's floor. */
  readonly floor: string;
}

async function uncontended(rows: UncontendedRow[]): Promise<void> {
  const contenders = rows.map(row => row.contender);
  const samples = contenders.map(() => [] as number[]);
  for (const contender of contenders)
    for (let i = 0; i < 20; i++) await cycle(contender, id('warm'));
  // Rounds interleave the contenders, so drift on the machine touches each alike.
  for (let round = 0; round < 5; round++) {
    for (const [index, contender] of contenders.entries()) {
      for (let i = 0; i < 40; i++)
        samples[index]?.push(await timed(() => cycle(contender, id('seq'))));
    }
  }
  const throughput: number[] = [];
  for (const contender of contenders) {
    const perWorker = 25;
    const elapsed = await timed(() =>
      Promise.all(
        Array.from({length: 16}, async () => {
          for (let i = 0; i < perWorker; i++) await cycle(contender, id('par'));
        }),
      ),
    );
    throughput.push((16 * perWorker) / (elapsed / 1000));
  }
  const medianOf = (label: string) =>
    median(samples[rows.findIndex(row => row.label === label)] as number[]);
  const peerMedian = medianOf('peer');
  const table = rows.map((row, index) => {
    const sample = samples[index] as number[];
    return {
      name: row.contender.name,
      medianMs: round(median(sample)),
      p95Ms: round(percentile(sample, 95)),
      cyclesPerSecond16: round(throughput[index] as number, 0),
      vsFloor: round(median(sample) / medianOf(row.floor)),
      peerVsThis: round(peerMedian / median(sample)),
    };
  });
  results.uncontended = Object.fromEntries(
    table.map((row, index) => [rows[index]?.label, row]),
  );
  const native = table[rows.findIndex(row => row.label === 'strongNative')] as {
    vsFloor: number;
    medianMs: number;
    p95Ms: number;
  };
  lines.push(
    '## Uncontended acquire + release cycles',
    '',
    'Sequential: 200 cycles each (after 20 to warm up), interleaved in 5 rounds. Parallel: 16 concurrent distinct identifiers, 25 cycles each. Each row is set against the floor of its own store (the floor row below it).',
    '',
    '| contender | median ms | p95 ms | cycles/s (16 concurrent) | × its floor | peer ÷ this |',
    '| --- | --- | --- | --- | --- | --- |',
    ...table.map(
      row =>
        `| ${row.name} | ${row.medianMs} | ${row.p95Ms} | ${row.cyclesPerSecond16} | ${row.vsFloor} | ${row.peerVsThis} |`,
    ),
    '',
    `On Firestore native mode a cycle is ${native.vsFloor}× its floor (one raw create and one raw delete through the same \`@google-cloud/firestore\` client): goal at most 1.3×, ${native.vsFloor <= 1.3 ? 'met' : '**not met**'}. It sends the same two RPCs as the floor (a create with an exists-false precondition, a delete conditioned on the grant's update time; see the cost table), so what is left is the library's own work in the process.`,
    '',
  );
}

async function cycle(contender: Contender, identifier: string): Promise<void> {
  const release = await contender.acquire(identifier);
  await release();
}

async function cost(rows: UncontendedRow[]): Promise<void> {
  const table: (Cost & {name: string})[] = [];
  const costs: Record<string, Cost> = {};
  for (const {label, contender} of rows) {
    if (!contender.datastore && !contender.firestore) continue;
    await cycle(contender, id('cost-warm'));
    const counter = contender.firestore
      ? countFirestoreCosts(contender.firestore)
      : countCosts(contender.datastore as Datastore);
    await cycle(contender, id('cost'));
    counter.restore();
    const {rpcs, reads, writes, deletes, refusedWrites} = counter.cost;
    table.push({
      name: contender.name,
      rpcs,
      reads,
      writes,
      deletes,
      refusedWrites,
    });
    costs[label] = {rpcs, reads, writes, deletes, refusedWrites};
  }
  results.costPerCycle = costs;
  lines.push(
    '## Cost of one uncontended cycle, counted at the client',
    '',
    '| contender | RPCs | entity or document reads | writes | deletes | billed operations |',
    '| --- | --- | --- | --- | --- | --- |',
    ...table.map(
      row =>
        `| ${row.name} | ${row.rpcs} | ${row.reads} | ${row.writes} | ${row.deletes} | ${row.reads + row.writes + row.deletes} |`,
    ),
    '',
    "The STRONG release is one conditional delete where the store honours version preconditions (the legacy emulator does; Datastore documents them) and a transaction (begin, lookup, commit) where it does not: the Firestore-in-Datastore-mode emulator 1.19.9 ignores them, so on it this project pays 4 RPCs per cycle. On Firestore native mode a cycle is a create (exists-false precondition) and a delete conditioned on the grant's update time, the same 2 RPCs and 2 billed operations as the floor; an uncontended acquire opens no listener.",
    '',
  );
}

async function coldStart(datastoreHost: string): Promise<void> {
  const measure = async (mode: string) => {
    const runs: {ms: number; maxRssKb: number}[] = [];
    for (let i = 0; i < 7; i++) {
      runs.push(
        await runToEnd(
          process.execPath,
          [join(__dirname, 'cold-start-child.js')],
          {
            env: {
              ...process.env,
              DATASTORE_EMULATOR_HOST: datastoreHost,
              MODE: mode,
            },
          },
        ).then(result => {
          if (result.code !== 0)
            throw new Error(
              `cold start child exited ${result.code}:\n${result.stderr}`,
            );
          return JSON.parse(
            result.stdout.trim().split('\n').at(-1) as string,
          ) as {
            ms: number;
            maxRssKb: number;
          };
        }),
      );
    }
    return {
      ms: round(median(runs.map(run => run.ms)), 0),
      maxRssMb: round(median(runs.map(run => run.maxRssKb)) / 1024, 1),
    };
  };
  const functions = await measure('functions');
  const raw = await measure('raw');
  results.coldStart = {
    functionsEntryToFirstAcquire: functions,
    rawClientToFirstInsert: raw,
    ratio: round(functions.ms / raw.ms),
  };
  lines.push(
    '## Cold start: a fresh Node process to its first completed operation (median of 7)',
    '',
    '| process | ms | peak RSS MB |',
    '| --- | --- | --- |',
    `| functions entry (dist/functions) to first acquire | ${functions.ms} | ${functions.maxRssMb} |`,
    `| raw @google-cloud/datastore to first insert | ${raw.ms} | ${raw.maxRssMb} |`,
    '',
    `Ratio: ${round(functions.ms / raw.ms)}×.`,
    '',
  );
}

async function lockedHandlerOverhead(datastore: Datastore): Promise<void> {
  configureLocking({datastore});
  const pubsub = new PubSub({projectId: PROJECT});
  const [topic] = await pubsub.createTopic(`bench-${process.pid}`);
  const handler = lockedHandler(
    {
      identifier: (event: {id?: string}) => `bench-handler-${event.id}`,
      pubsub,
      waitBudgetMs: 0,
      retryTopic: topic.name,
    },
    () => undefined,
  );
  const event = (key: string) => ({
    id: key,
    source: `//pubsub.googleapis.com/${topic.name}`,
    data: {
      message: {data: Buffer.from('{}').toString('base64'), attributes: {}},
    },
  });
  for (let i = 0; i < 10; i++) await handler(event(id('warm-free')));
  const free: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < 40; i++) {
    free.push(await timed(() => handler(event(id('free')))));
    const key = id('held');
    const holder = await Lock.acquire(`bench-handler-${key}`);
    held.push(await timed(() => handler(event(key))));
    await holder?.release();
  }
  await pubsub.close();
  results.lockedHandler = {
    uncontendedMedianMs: round(median(free)),
    contendedRequeueMedianMs: round(median(held)),
    ratio: round(median(held) / median(free)),
  };
  lines.push(
    '## lockedHandler: one message',
    '',
    '| case | median ms |',
    '| --- | --- |',
    `| lock free: acquire, run (no-op), release | ${round(median(free))} |`,
    `| lock held: one attempt, re-publish with backoff, acknowledge | ${round(median(held))} |`,
    '',
  );
}

/** A client of the native-mode emulator, as the tests make one (no FIRESTORE_EMULATOR_HOST, which the Datastore rows would not want). */
function nativeClient(host: string): Firestore {
  return new Firestore({
    projectId: PROJECT,
    host,
    ssl: false,
    customHeaders: {Authorization: 'Bearer owner'},
  });
}

function write(): void {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${round(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  const versions = versionOf;
  const header = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (test/bench/bench-main.ts); every figure below comes from one run on one machine, side by side.',
    '',
    `- Machine: ${machine}`,
    `- Emulators: Cloud SDK ${process.env.CLOUDSDK_VERSION ?? '528'} (Firestore in Datastore mode emulator, legacy Datastore emulator, Firestore native mode emulator, Pub/Sub emulator), memcached, ${valkeyVersion} (a Valkey-protocol server)`,
    `- Clients: @google-cloud/datastore ${versions('@google-cloud/datastore')}, @google-cloud/firestore ${versions('@google-cloud/firestore')}, memjs ${versions('memjs')}, iovalkey ${versions('iovalkey')}, peer @google-automations/datastore-lock ${versions('@google-automations/datastore-lock')}`,
    `- Run: ${new Date().toISOString()}`,
    '',
  ];
  results.machine = machine;
  writeFileSync(
    join(process.cwd(), 'BENCHMARKS.md'),
    [...header, ...lines].join('\n'),
  );
  writeFileSync(
    join(process.cwd(), 'benchmarks.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log([...header, ...lines].join('\n'));
}

// `--help` (or a stray argument) is answered before any emulator starts.
const commandLine = commandLineOrUsage('bench', () =>
  parseBenchArgs(process.argv.slice(2)),
);
if (commandLine)
  main(commandLine.args).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
