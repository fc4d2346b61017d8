import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {startNodeChild} from './child-process';
import type {ScenarioResult} from './report';

export interface SoakSize {
  readonly processes: number;
  readonly cycles: number;
  readonly identifiers: number;
  /** The soak stops early past this, and the report says how much ran. */
  readonly budgetMs: number;
}

interface Section {
  readonly identifier: number;
  readonly fence: string;
  readonly enteredAt: number;
  readonly leftAt: number;
  readonly released: boolean;
}

/**
 * Soak on one Datastore emulator: PROCESSES OS processes contend for IDENTIFIERS locks. Checks that
 * no counter update was lost, that every release found its own lock, and that on each identifier the
 * fences order the critical sections with no overlap.
 */
export async function soak(
  emulatorName: string,
  host: string,
  project: string,
  size: SoakSize,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  const run = `${process.pid}-${Date.now()}-${emulatorName.replace(/\W/g, '')}`;
  const started = Date.now();
  const workers = Array.from({length: size.processes}, () =>
    startNodeChild(join(__dirname, 'soak-worker.js'), [], {
      ...process.env,
      DATASTORE_EMULATOR_HOST: host,
      GOOGLE_CLOUD_PROJECT: project,
      SOAK_RUN: run,
      CYCLES: String(size.cycles),
      IDENTIFIERS: String(size.identifiers),
      DEADLINE: String(started + size.budgetMs),
    }),
  );
  const codes = await Promise.all(workers.map(worker => worker.exited));
  const elapsedMs = Date.now() - started;
  const failedWorkers = codes.filter(code => code !== 0).length;
  const sections = workers.flatMap(worker => worker.lines as Section[]);

  const datastore = new Datastore({projectId: project, apiEndpoint: host});
  let lostUpdates = 0;
  let overlaps = 0;
  let duplicateFences = 0;
  const examples: string[] = [];
  for (let identifier = 0; identifier < size.identifiers; identifier++) {
    const mine = sections
      .filter(s => s.identifier === identifier)
      .sort((a, b) => (BigInt(a.fence) < BigInt(b.fence) ? -1 : 1));
    const [entity] = await datastore.get(
      datastore.key(['SoakCounter', `${run}:${identifier}`]),
    );
    lostUpdates += Math.max(0, mine.length - Number(entity?.value ?? 0));
    for (let i = 1; i < mine.length; i++) {
      const previous = mine[i - 1] as Section;
      const current = mine[i] as Section;
      if (previous.fence === current.fence) duplicateFences++;
      if (previous.leftAt > current.enteredAt) {
        overlaps++;
        if (examples.length < 3)
          examples.push(
            `identifier ${identifier}: fence ${current.fence} entered before fence ${previous.fence} left`,
          );
      }
    }
  }
  await datastore.close?.();
  const falseReleases = sections.filter(s => !s.released).length;
  const planned = size.processes * size.cycles;
  const ratePerS = sections.length / (elapsedMs / 1000);
  const passed =
    failedWorkers === 0 &&
    lostUpdates === 0 &&
    overlaps === 0 &&
    duplicateFences === 0 &&
    falseReleases === 0;
  return {
    size:
      `${size.processes} processes x ${size.cycles} cycles on ${size.identifiers} identifiers: ${sections.length} of ${planned} cycles run` +
      (sections.length < planned
        ? ` (stopped at the ${Math.round(size.budgetMs / 1000)} s budget)`
        : ''),
    lost: `${lostUpdates} lost updates, ${overlaps} overlapping critical sections, ${falseReleases} releases that found the lock gone`,
    passed,
    details: [
      `${sections.length} cycles in ${(elapsedMs / 1000).toFixed(1)} s: ${ratePerS.toFixed(1)} cycles/s over all processes`,
      `counter: ${lostUpdates} lost updates (counter value vs. critical sections, per identifier)`,
      `fences: ${duplicateFences} duplicates; sorted by fence, ${overlaps} sections began before the previous one ended`,
      `worker processes that failed: ${failedWorkers}`,
      ...examples,
      ...workers
        .filter((_, i) => codes[i] !== 0)
        .map(worker => `worker stderr: ${worker.stderr().slice(-500)}`),
    ],
  };
}
