import {readdirSync, readFileSync} from 'node:fs';
import {cpus} from 'node:os';

/** The whole machine's CPU time so far, summed over its cores (ms): every process, ours or not. */
export interface CpuSample {
  readonly busyMs: number;
  readonly totalMs: number;
  readonly cores: number;
}

export function sampleCpu(): CpuSample {
  const cores = cpus();
  let busyMs = 0;
  let totalMs = 0;
  for (const {times} of cores) {
    const busy = times.user + times.nice + times.sys + times.irq;
    busyMs += busy;
    totalMs += busy + times.idle;
  }
  return {busyMs, totalMs, cores: cores.length};
}

export interface CpuUse {
  /** Busy share of every core between the samples, 0 to 1: near 1, the run waited for CPU. */
  readonly busyShare: number;
  /** CPU time spent per unit of work (a message) by everything on the machine. */
  readonly busyMsPerUnit: number;
  /**
   * Units per second this machine could do at most were every core busy with them at that cost:
   * the CPU ceiling a throughput goal is measured against.
   */
  readonly ceilingPerSecond: number;
}

export function cpuUseBetween(
  before: CpuSample,
  after: CpuSample,
  units: number,
): CpuUse {
  const busyMs = after.busyMs - before.busyMs;
  const totalMs = after.totalMs - before.totalMs;
  const busyMsPerUnit = busyMs / units;
  return {
    busyShare: totalMs > 0 ? busyMs / totalMs : 0,
    busyMsPerUnit,
    ceilingPerSecond:
      busyMsPerUnit > 0 ? (after.cores * 1000) / busyMsPerUnit : Infinity,
  };
}

/** Who on the machine a process counts as, from its command line. */
const PROCESS_GROUPS: readonly [string, RegExp][] = [
  ['Datastore emulator', /cloud[-_]datastore[-_]emulator|CloudDatastore/],
  ['Firestore emulator', /cloud-firestore-emulator/],
  ['Pub/Sub emulator', /pubsub-emulator/],
  ['function instances', /functions-framework/],
];
export const BENCH_GROUP = 'the bench (dispatcher, publisher, ledger)';

/**
 * CPU time (ms) each group of processes has used so far, from /proc: the emulators, the function
 * instances and this process. Linux reports it in USER_HZ ticks, 100 per second on every
 * architecture Node runs on. Empty where /proc cannot be read.
 */
export function sampleProcessCpu(): Map<string, number> {
  const groups = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter(entry => /^\d+$/.test(entry));
  } catch {
    return groups;
  }
  for (const pid of entries) {
    try {
      const group =
        Number(pid) === process.pid
          ? BENCH_GROUP
          : PROCESS_GROUPS.find(([, pattern]) =>
              pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
            )?.[0];
      if (group === undefined) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After the command name in parentheses: field 3 is the state; utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      groups.set(group, (groups.get(group) ?? 0) + ticks * 10);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return groups;
}

/**
 * Each group's CPU per unit between two samples, and what is left of the machine's busy time
 * (processes outside the groups, and any that ended meanwhile) as "everything else".
 */
export function cpuByGroup(
  before: Map<string, number>,
  after: Map<string, number>,
  machineBusyMs: number,
  units: number,
): {group: string; msPerUnit: number}[] {
  const rows: {group: string; msPerUnit: number}[] = [];
  let counted = 0;
  for (const [group, ms] of after) {
    const used = Math.max(0, ms - (before.get(group) ?? 0));
    counted += used;
    rows.push({group, msPerUnit: used / units});
  }
  rows.sort((a, b) => b.msPerUnit - a.msPerUnit);
  rows.push({
    group: 'everything else',
    msPerUnit: Math.max(0, machineBusyMs - counted) / units,
  });
  return rows;
}
