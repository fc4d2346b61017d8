import {seededRandom, type Random} from './random';

/**
 * The nemesis schedule: every fault, when it starts, how long it lasts, whom it hits. A pure
 * function of the seed and the run's shape, so the same seed gives the same schedule (what the
 * system does in response is not deterministic; the faults are).
 */
export type FaultKind =
  'partition' | 'degrade' | 'pause' | 'kill' | 'store' | 'clock';
export const FAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'degrade',
  'pause',
  'kill',
  'store',
  'clock',
];

export interface Fault {
  readonly id: number;
  readonly kind: FaultKind;
  /** From the start of the run. */
  readonly atMs: number;
  readonly durationMs: number;
  /** The worker hit; absent for the store. */
  readonly worker?: number;
  /** degrade: the link's delay, jitter and loss. */
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly lossPercent?: number;
  /** clock: the jump, added to the worker's own offset while the fault lasts. */
  readonly jumpMs?: number;
}

export interface ScheduleShape {
  readonly seed: number;
  readonly durationMs: number;
  readonly workers: number;
  readonly leaseMs: number;
}

export interface Schedule extends ScheduleShape {
  /** Each worker's own clock offset (libfaketime), for the whole run. */
  readonly clockOffsetsMs: readonly number[];
  readonly faults: readonly Fault[];
}

/** Faults per minute of run, by kind; every kind at least once. */
const PER_MINUTE: Record<FaultKind, number> = {
  partition: 6,
  degrade: 4,
  pause: 6,
  kill: 3,
  store: 1,
  clock: 4,
};
/** No fault starts in the first seconds (workers booting) or ends in the last ones (recovery is judged there). */
const LEAD_IN_MS = 3000;
const QUIET_END_MS = 2000;

export function buildSchedule(shape: ScheduleShape): Schedule {
  const random = seededRandom(shape.seed);
  const {leaseMs, workers} = shape;
  const clockOffsetsMs = Array.from({length: workers}, () =>
    random.int(-leaseMs / 4, leaseMs / 4),
  );
  const minutes = shape.durationMs / 60_000;
  const faults: Omit<Fault, 'id'>[] = [];
  const windowEnd = shape.durationMs - QUIET_END_MS;
  for (const kind of FAULT_KINDS) {
    const count = Math.max(1, Math.round(PER_MINUTE[kind] * minutes));
    for (let n = 0; n < count; n++) {
      const fault = faultOf(kind, random, shape);
      const latestStart = windowEnd - fault.durationMs;
      if (latestStart <= LEAD_IN_MS) continue;
      const atMs = random.int(LEAD_IN_MS, latestStart);
      // One store: its outages do not overlap.
      if (
        kind === 'store' &&
        faults.some(
          other =>
            other.kind === 'store' &&
            overlaps(other, {atMs, durationMs: fault.durationMs}),
        )
      )
        continue;
      faults.push({...fault, atMs});
    }
  }
  faults.sort(
    (a, b) =>
      a.atMs - b.atMs ||
      FAULT_KINDS.indexOf(a.kind) - FAULT_KINDS.indexOf(b.kind),
  );
  return {
    ...shape,
    clockOffsetsMs,
    faults: faults.map((fault, id) => ({id, ...fault})),
  };
}

function faultOf(
  kind: FaultKind,
  random: Random,
  {leaseMs, workers}: ScheduleShape,
): Omit<Fault, 'id' | 'atMs'> {
  const worker = random.int(0, workers - 1);
  switch (kind) {
    case 'partition':
      return {kind, worker, durationMs: random.int(leaseMs / 2, leaseMs * 3)};
    case 'degrade':
      return {
        kind,
        worker,
        durationMs: random.int(2000, 6000),
        delayMs: random.int(50, 300),
        jitterMs: random.int(10, 50),
        lossPercent: random.int(5, 30),
      };
    case 'pause':
      // Past the lease: the lock is taken over while the holder sleeps, and it wakes believing it holds it.
      return {kind, worker, durationMs: leaseMs + random.int(300, leaseMs * 2)};
    case 'kill':
      return {kind, worker, durationMs: random.int(300, 3000)};
    case 'store':
      return {kind, durationMs: random.int(1000, 4000)};
    case 'clock': {
      const jumpMs =
        random.int(leaseMs, leaseMs * 5) * (random.next() < 0.5 ? -1 : 1);
      return {kind, worker, durationMs: random.int(2000, 8000), jumpMs};
    }
  }
}

function overlaps(
  a: {atMs: number; durationMs: number},
  b: {atMs: number; durationMs: number},
): boolean {
  return a.atMs < b.atMs + b.durationMs && b.atMs < a.atMs + a.durationMs;
}

export function describeFault(fault: Fault): string {
  const who = fault.worker === undefined ? 'store' : `worker ${fault.worker}`;
  switch (fault.kind) {
    case 'partition':
      return `${who} cut off from the store (iptables DROP both ways)`;
    case 'degrade':
      return `${who}'s link: delay ${fault.delayMs} ms ± ${fault.jitterMs} ms, loss ${fault.lossPercent}%`;
    case 'pause':
      return `the lock holder between its read and its write (else ${who}) paused (SIGSTOP, then SIGCONT)`;
    case 'kill':
      return `${who} killed (SIGKILL), restarted after the outage`;
    case 'store':
      return 'store stopped (SIGTERM), restarted on the same port and data';
    case 'clock':
      return `${who}'s clock jumps ${(fault.jumpMs ?? 0) > 0 ? '+' : ''}${fault.jumpMs} ms, then back`;
  }
}
