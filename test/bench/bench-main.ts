/**
 * `npm run bench`: speed and cost of this project's locks, side by side with the peer
 * (@google-automations/datastore-lock) and with the floor of the store, in one run on one machine,
 * so the ratios hold however noisy the machine is. Writes BENCHMARKS.md and benchmarks.json.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Datastore } from '@google-cloud/datastore';
import { PubSub } from '@google-cloud/pubsub';
import { Client as MemjsClient } from 'memjs';
import { startEmulator } from '../../infra/emulators';
import { startMemcached } from '../../infra/memcached';
import type { RunningService } from '../../infra/processes';
import { configureLocking, Lock, lockedHandler } from '../../shared';
import { floor, ourStrong, ourWeak, peer, type Contender } from './contenders';
import { renewal } from './renewal';
import { countCosts, type Cost } from './rpc-cost';
import { telemetryOverhead } from './telemetry-overhead';
import { median, percentile, round, timed } from './stats';

const PROJECT = 'bench-project';
const results: Record<string, unknown> = {};
const lines: string[] = [];
let sequence = 0;
const id = (label: string) => `bench-${label}-${process.pid}-${++sequence}`;

async function main(): Promise<void> {
  const services: RunningService[] = [];
  try {
    const [firestore, legacy, memcached, pubsubEmulator] = await Promise.all([
      startEmulator('datastore-firestore'),
      startEmulator('datastore-legacy'),
      startMemcached(),
      startEmulator('pubsub'),
    ]);
    services.push(firestore, legacy, memcached, pubsubEmulator);
    Object.assign(process.env, {
      DATASTORE_EMULATOR_HOST: firestore.host,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      PUBSUB_EMULATOR_HOST: pubsubEmulator.host,
      METADATA_SERVER_DETECTION: 'none',
    });
    const onFirestore = new Datastore({ projectId: PROJECT, apiEndpoint: firestore.host });
    const onLegacy = new Datastore({ projectId: PROJECT, apiEndpoint: legacy.host });
    const memcache = MemjsClient.create(memcached.host, { logger: { log: () => undefined } });

    const contenders: Contender[] = [
      ourStrong(onFirestore),
      ourWeak(memcache, onFirestore),
      peer(),
      floor(onFirestore),
      ourStrong(onLegacy, 'this project, STRONG, legacy emulator'),
      floor(onLegacy),
    ];
    const labels = ['strong', 'weak', 'peer', 'floor', 'strongLegacy', 'floorLegacy'];
    await uncontended(contenders, labels);
    await cost(contenders, labels);
    const leases = await renewal(PROJECT, onLegacy, onFirestore, memcache);
    results.renewal = leases.result;
    lines.push(...leases.lines);
    await contended(firestore.host);
    await coldStart(firestore.host);
    await lockedHandlerOverhead(onFirestore);
    await telemetryOverhead(onLegacy, memcache, results, lines);
    write();
  } finally {
    await Promise.all(services.map((service) => service.stop()));
  }
}

async function uncontended(contenders: Contender[], labels: string[]): Promise<void> {
  const samples = contenders.map(() => [] as number[]);
  for (const contender of contenders) for (let i = 0; i < 20; i++) await cycle(contender, id('warm'));
  // Rounds interleave the contenders, so drift on the machine touches each alike.
  for (let round = 0; round < 5; round++) {
    for (const [index, contender] of contenders.entries()) {
      for (let i = 0; i < 40; i++) samples[index]?.push(await timed(() => cycle(contender, id('seq'))));
    }
  }
  const throughput: number[] = [];
  for (const contender of contenders) {
    const perWorker = 25;
    const elapsed = await timed(() =>
      Promise.all(Array.from({ length: 16 }, async () => {
        for (let i = 0; i < perWorker; i++) await cycle(contender, id('par'));
      })),
    );
    throughput.push((16 * perWorker) / (elapsed / 1000));
  }
  const floorMedian = median(samples[3] as number[]);
  const floorLegacyMedian = median(samples[5] as number[]);
  const peerMedian = median(samples[2] as number[]);
  const rows = contenders.map((contender, index) => {
    const sample = samples[index] as number[];
    const floorOfRow = index >= 4 ? floorLegacyMedian : floorMedian;
    return {
      name: contender.name,
      medianMs: round(median(sample)),
      p95Ms: round(percentile(sample, 95)),
      cyclesPerSecond16: round(throughput[index] as number, 0),
      vsFloor: round(median(sample) / floorOfRow),
      peerVsThis: round(peerMedian / median(sample)),
    };
  });
  results.uncontended = Object.fromEntries(rows.map((row, index) => [labels[index], row]));
  lines.push(
    '## Uncontended acquire + release cycles',
    '',
    'Sequential: 200 cycles each (after 20 to warm up), interleaved in 5 rounds. Parallel: 16 concurrent distinct identifiers, 25 cycles each.',
    '',
    '| contender | median ms | p95 ms | cycles/s (16 concurrent) | × its floor | peer ÷ this |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.name} | ${row.medianMs} | ${row.p95Ms} | ${row.cyclesPerSecond16} | ${row.vsFloor} | ${row.peerVsThis} |`),
    '',
  );
}

async function cycle(contender: Contender, identifier: string): Promise<void> {
  const release = await contender.acquire(identifier);
  await release();
}

async function cost(contenders: Contender[], labels: string[]): Promise<void> {
  const rows: (Cost & { name: string })[] = [];
  const costs: Record<string, Cost> = {};
  for (const [index, contender] of contenders.entries()) {
    if (!contender.datastore) continue;
    await cycle(contender, id('cost-warm'));
    const counter = countCosts(contender.datastore);
    await cycle(contender, id('cost'));
    counter.restore();
    rows.push({ name: contender.name, ...counter.cost });
    costs[labels[index] as string] = { ...counter.cost };
  }
  results.costPerCycle = costs;
  lines.push(
    '## Cost of one uncontended cycle, counted at the client',
    '',
    '| contender | RPCs | entity reads | entity writes | entity deletes | billed entity operations |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.name} | ${row.rpcs} | ${row.reads} | ${row.writes} | ${row.deletes} | ${row.reads + row.writes + row.deletes} |`),
    '',
    'The STRONG release is one conditional delete where the store honours version preconditions (the legacy emulator does; Datastore documents them) and a transaction (begin, lookup, commit) where it does not: the Firestore-in-Datastore-mode emulator 1.19.9 ignores them, so on it this project pays 4 RPCs per cycle.',
    '',
  );
}

async function contended(datastoreHost: string): Promise<void> {
  const summary: Record<string, unknown> = {};
  const table: string[] = [];
  for (const [label, contender] of [
    ['this project, STRONG', 'ours'],
    ['@google-automations/datastore-lock 7.1.3', 'peer'],
  ] as const) {
    const identifier = id(`contended-${contender}`);
    const started = performance.now();
    const outputs = await Promise.all(Array.from({ length: 4 }, () => runWorker(contender, identifier, datastoreHost, CONTENDED_DEADLINE_MS)));
    const totalMs = performance.now() - started;
    const grants = outputs.flatMap((output) => output.grants).sort((a, b) => a.grantedAt - b.grantedAt);
    const failures = outputs.reduce((sum, output) => sum + output.failures, 0);
    const stopped = outputs.some((output) => output.timedOut);
    const handoffs = grants.slice(1).map((grant, index) => grant.grantedAt - (grants[index] as { releasedAt: number }).releasedAt);
    summary[contender] = { grants: grants.length, stoppedAtDeadline: stopped, failures, totalMs: round(totalMs, 0), handoffMedianMs: round(median(handoffs)), handoffP95Ms: round(percentile(handoffs, 95)) };
    table.push(`| ${label} | ${grants.length}${stopped ? ` (stopped at ${CONTENDED_DEADLINE_MS / 1000} s)` : ''} | ${stopped ? 'not counted' : failures} | ${round(totalMs / 1000, 2)} | ${round(median(handoffs))} | ${round(percentile(handoffs, 95))} |`);
  }
  const ours = summary.ours as { handoffMedianMs: number };
  const theirs = summary.peer as { handoffMedianMs: number; grants: number };
  summary.peerHandoffOverOurs = theirs.grants > 1 ? round(theirs.handoffMedianMs / ours.handoffMedianMs, 1) : null;
  const comparison =
    theirs.grants > 1
      ? `The peer's median hand-off is ${summary.peerHandoffOverOurs}× this project's.`
      : `The peer completed ${theirs.grants} grants before the ${CONTENDED_DEADLINE_MS / 1000} s deadline: on this emulator its contended transactions time out ("Transaction lock timeout"), and its rollback then throws "This transaction has already expired", which its acquire does not catch.`;
  results.contended = summary;
  lines.push(
    '## Contended: 8 waiters on one identifier, over 4 processes',
    '',
    'Each waiter takes the lock 10 times and holds it for 5 ms. Hand-off: from one release to the next grant.',
    '',
    '| contender | grants | acquires that threw (retried) | total s | hand-off median ms | hand-off p95 ms |',
    '| --- | --- | --- | --- | --- | --- |',
    ...table,
    '',
    comparison,
    '',
  );
}

interface WorkerOutput {
  grants: { grantedAt: number; releasedAt: number }[];
  failures: number;
  timedOut: boolean;
}

/** A contender that cannot finish its 80 grants in this long is stopped and reported as it stands. */
const CONTENDED_DEADLINE_MS = 180_000;

function runWorker(contender: string, identifier: string, datastoreHost: string, deadlineMs: number): Promise<WorkerOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'contended-worker.js')], {
      env: { ...process.env, DATASTORE_EMULATOR_HOST: datastoreHost, CONTENDER: contender, IDENTIFIER: identifier, WAITERS: '2', ITERATIONS: '10', CRITICAL_MS: '5' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', reject);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !timedOut) return reject(new Error(`worker exited ${code}`));
      const lines = stdout.trim().split('\n');
      const failures = lines.filter((line) => line.includes('"failures"')).map((line) => (JSON.parse(line) as { failures: number }).failures);
      resolve({ grants: lines.filter((line) => line.includes('"grantedAt"')).map((line) => JSON.parse(line)), failures: failures[0] ?? 0, timedOut });
    });
  });
}

async function coldStart(datastoreHost: string): Promise<void> {
  const measure = async (mode: string) => {
    const runs: { ms: number; maxRssKb: number }[] = [];
    for (let i = 0; i < 7; i++) {
      runs.push(
        await new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [join(__dirname, 'cold-start-child.js')], {
            env: { ...process.env, DATASTORE_EMULATOR_HOST: datastoreHost, MODE: mode },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let stdout = '';
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string)) : reject(new Error(`cold start child exited ${code}`))));
        }),
      );
    }
    return { ms: round(median(runs.map((run) => run.ms)), 0), maxRssMb: round(median(runs.map((run) => run.maxRssKb)) / 1024, 1) };
  };
  const functions = await measure('functions');
  const raw = await measure('raw');
  results.coldStart = { functionsEntryToFirstAcquire: functions, rawClientToFirstInsert: raw, ratio: round(functions.ms / raw.ms) };
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
  configureLocking({ datastore });
  const pubsub = new PubSub({ projectId: PROJECT });
  const [topic] = await pubsub.createTopic(`bench-${process.pid}`);
  const handler = lockedHandler({ identifier: (event: { id?: string }) => `bench-handler-${event.id}`, pubsub, waitBudgetMs: 0, retryTopic: topic.name }, () => undefined);
  const event = (key: string) => ({ id: key, source: `//pubsub.googleapis.com/${topic.name}`, data: { message: { data: Buffer.from('{}').toString('base64'), attributes: {} } } });
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
  results.lockedHandler = { uncontendedMedianMs: round(median(free)), contendedRequeueMedianMs: round(median(held)), ratio: round(median(held) / median(free)) };
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

function write(): void {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${round(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  const versions = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  const header = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (test/bench/bench-main.ts); every figure below comes from one run on one machine, side by side.',
    '',
    `- Machine: ${machine}`,
    `- Emulators: Cloud SDK ${process.env.CLOUDSDK_VERSION ?? '528'} (Firestore in Datastore mode emulator, legacy Datastore emulator, Pub/Sub emulator), memcached`,
    `- Clients: @google-cloud/datastore ${versions('@google-cloud/datastore')}, memjs ${versions('memjs')}, peer @google-automations/datastore-lock ${versions('@google-automations/datastore-lock')}`,
    `- Run: ${new Date().toISOString()}`,
    '',
  ];
  results.machine = machine;
  writeFileSync(join(process.cwd(), 'BENCHMARKS.md'), [...header, ...lines].join('\n'));
  writeFileSync(join(process.cwd(), 'benchmarks.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log([...header, ...lines].join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
