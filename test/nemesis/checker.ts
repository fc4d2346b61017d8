import type {FaultRecord, History, OpEvent} from './history';
import type {LogEntry} from './register';

/**
 * Checks a run's history against the register's final log:
 *   - every acknowledged increment is in the log, and no increment is in it twice;
 *   - no increment that failed is in it (a failure must mean "not applied");
 *   - the log's fences never go down: no write landed below a fence already written;
 *   - no operation took longer than its bound (time its worker spent paused not counted), and
 *     none was left open by a worker that was not killed;
 *   - whenever every fault had healed, the lock was granted again within the recovery bound.
 */
export interface CheckBounds {
  readonly opBoundMs: number;
  readonly recoveryBoundMs: number;
}

export interface Violation {
  readonly rule:
    | 'lost'
    | 'duplicated'
    | 'failed-but-applied'
    | 'fence-order'
    | 'op-bound'
    | 'recovery';
  readonly message: string;
  /** The operations involved, as recorded. */
  readonly ops: readonly OpEvent[];
}

export interface Recovery {
  /** When the last active fault healed. */
  readonly quietAt: number;
  /** Until the next grant; undefined when a fault started again first. */
  readonly ms: number | undefined;
}

export interface CheckResult {
  readonly violations: Violation[];
  readonly counts: {
    invoked: number;
    ok: number;
    fail: number;
    unknown: number;
    crashed: number;
    granted: number;
  };
  readonly recoveries: Recovery[];
  readonly logLength: number;
}

export function checkHistory(
  history: History,
  log: readonly LogEntry[],
  bounds: CheckBounds,
  endedAt: number,
): CheckResult {
  const violations: Violation[] = [];
  const byOp = new Map<string, OpEvent[]>();
  for (const event of history.ops)
    byOp.set(event.op, [...(byOp.get(event.op) ?? []), event]);
  const eventsOf = (op: string) => byOp.get(op) ?? [];
  const outcomeOf = (op: string) =>
    eventsOf(op).find(
      event => event.t === 'ok' || event.t === 'fail' || event.t === 'unknown',
    );

  const inLog = new Map<string, number>();
  for (const [op] of log) inLog.set(op, (inLog.get(op) ?? 0) + 1);
  for (const [op, times] of inLog) {
    if (times > 1)
      violations.push({
        rule: 'duplicated',
        message: `${op} is in the register ${times} times`,
        ops: eventsOf(op),
      });
    if (outcomeOf(op)?.t === 'fail')
      violations.push({
        rule: 'failed-but-applied',
        message: `${op} failed, yet it is in the register`,
        ops: eventsOf(op),
      });
  }
  for (const event of history.ops) {
    if (event.t === 'ok' && !inLog.has(event.op)) {
      violations.push({
        rule: 'lost',
        message: `${event.op} was acknowledged (fence ${event.fence}) but is not in the register`,
        ops: eventsOf(event.op),
      });
    }
  }

  let highest: {fence: bigint; op: string} | undefined;
  for (const [op, fence] of log) {
    const value = BigInt(fence);
    if (highest && value < highest.fence) {
      violations.push({
        rule: 'fence-order',
        message: `${op} wrote with fence ${fence} after ${highest.op} had written with fence ${highest.fence}`,
        ops: [...eventsOf(op), ...eventsOf(highest.op)],
      });
    }
    if (!highest || value >= highest.fence) highest = {fence: value, op};
  }

  let crashed = 0;
  for (const [op, events] of byOp) {
    const invoke = events.find(event => event.t === 'invoke');
    if (!invoke) continue;
    const outcome = outcomeOf(op);
    const life = history.incarnations.find(
      candidate =>
        candidate.worker === invoke.worker &&
        candidate.incarnation === invoke.incarnation,
    );
    if (!outcome) {
      if (life?.killed) crashed++;
      else
        violations.push({
          rule: 'op-bound',
          message: `${op} never completed, and its worker was not killed`,
          ops: events,
        });
      continue;
    }
    const pausedMs = pausedWithin(
      history.faults,
      invoke.worker,
      invoke.at,
      outcome.at,
    );
    const tookMs = outcome.at - invoke.at - pausedMs;
    if (tookMs > bounds.opBoundMs) {
      violations.push({
        rule: 'op-bound',
        message: `${op} took ${Math.round(tookMs)} ms (paused time excluded), over its ${bounds.opBoundMs} ms bound`,
        ops: events,
      });
    }
  }

  const recoveries = recoveriesOf(history, endedAt, bounds.recoveryBoundMs);
  for (const recovery of recoveries) {
    if (recovery.ms !== undefined && recovery.ms > bounds.recoveryBoundMs) {
      violations.push({
        rule: 'recovery',
        message: `after every fault healed at ${Math.round(recovery.quietAt)} ms, the lock was granted again only ${Math.round(recovery.ms)} ms later (bound ${bounds.recoveryBoundMs} ms)`,
        ops: [],
      });
    }
  }

  const count = (type: OpEvent['t']) =>
    history.ops.filter(event => event.t === type).length;
  return {
    violations,
    counts: {
      invoked: count('invoke'),
      ok: count('ok'),
      fail: count('fail'),
      unknown: count('unknown'),
      crashed,
      granted: count('granted'),
    },
    recoveries,
    logLength: log.length,
  };
}

/** How long worker `worker` spent paused between `from` and `to`. */
function pausedWithin(
  faults: readonly FaultRecord[],
  worker: number,
  from: number,
  to: number,
): number {
  return faults
    .filter(fault => fault.kind === 'pause' && fault.worker === worker)
    .reduce(
      (sum, fault) =>
        sum +
        Math.max(
          0,
          Math.min(to, fault.end ?? to) - Math.max(from, fault.start),
        ),
      0,
    );
}

/**
 * Each moment the set of active faults became empty, and how long until the next grant. A quiet
 * spell shorter than the bound that a new fault interrupts before any grant is not judged (ms
 * undefined); the last one runs to the end of the run.
 */
function recoveriesOf(
  history: History,
  endedAt: number,
  bound: number,
): Recovery[] {
  const edges = history.faults.flatMap(fault => [
    {at: fault.start, delta: 1},
    {at: fault.end ?? endedAt, delta: -1},
  ]);
  edges.sort((a, b) => a.at - b.at || b.delta - a.delta);
  const grants = history.ops
    .filter(event => event.t === 'granted')
    .map(event => event.at);
  const recoveries: Recovery[] = [];
  let active = 0;
  edges.forEach((edge, index) => {
    active += edge.delta;
    if (active !== 0 || edge.delta !== -1) return;
    const nextFault =
      edges.slice(index + 1).find(later => later.delta === 1)?.at ?? endedAt;
    const grant = grants.find(at => at >= edge.at);
    // No grant in a quiet spell long enough to judge counts the whole spell, which then exceeds the bound.
    const ms =
      grant !== undefined && grant <= nextFault
        ? grant - edge.at
        : nextFault - edge.at > bound
          ? nextFault - edge.at
          : undefined;
    recoveries.push({quietAt: edge.at, ms});
  });
  return recoveries;
}
