import {writeFileSync} from 'node:fs';
import {cpus} from 'node:os';
import type {HandlerRunResult} from './handler-run';
import {handlerReportLines} from './handler-report';
import type {RunResult} from './run';
import {describeFault, FAULT_KINDS} from './schedule';

/** NEMESIS.md: every figure from the two runs just made. */
export function writeNemesisReport(
  path: string,
  fenced: RunResult,
  control: RunResult,
  replay: string,
  handler?: {fenced: HandlerRunResult; control: HandlerRunResult},
): void {
  const lines = [
    '# Nemesis run',
    '',
    `Written by \`npm run nemesis\` on ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores, Node ${process.version}). Seed **${fenced.options.seed}**.`,
    '',
    'Replay (same seed, same schedule; what the system does in response varies):',
    '',
    '```',
    replay,
    '```',
    '',
    `${fenced.options.workers} worker processes, each in its own network namespace (veth to a bridge, 169.254.0.0/16 addresses) and under libfaketime with its own clock offset, increment one register entity under a STRONG lock with a ${fenced.options.leaseMs} ms lease (renewed in the background). Each increment reads the register, works 100-300 ms, and writes it back plus its own id: with \`fencedUpdate\` in the fenced run, with a plain read and upsert (fence check off) in the control run. The store is the legacy Datastore emulator in the root namespace (see test/nemesis/store.ts for why, and for what it does on restart). ${fenced.netem ? 'Delay and loss use tc netem.' : 'This kernel has no tc netem: delay is a tc tbf rate limit (requests queue behind it) and loss is iptables random drop.'}`,
    '',
    '## Results',
    '',
    '| | fenced run | control run (fence check off) |',
    '|---|---|---|',
    row(
      'length (faults scheduled over)',
      result =>
        `${result.options.durationMs / 1000} s (wall ${(result.wallMs / 1000).toFixed(0)} s)`,
      fenced,
      control,
    ),
    row(
      'operations invoked',
      result => String(result.check.counts.invoked),
      fenced,
      control,
    ),
    row(
      'ok (acknowledged)',
      result => String(result.check.counts.ok),
      fenced,
      control,
    ),
    row(
      'fail (not applied)',
      result => String(result.check.counts.fail),
      fenced,
      control,
    ),
    row(
      'unknown (write outcome lost)',
      result => String(result.check.counts.unknown),
      fenced,
      control,
    ),
    row(
      'open when its worker was killed',
      result => String(result.check.counts.crashed),
      fenced,
      control,
    ),
    row(
      'refused STALE_FENCE',
      result =>
        String(
          result.history.ops.filter(event =>
            event.reason?.startsWith('STALE_FENCE'),
          ).length,
        ),
      fenced,
      control,
    ),
    row(
      'increments in the register',
      result => String(result.check.logLength),
      fenced,
      control,
    ),
    row(
      '**violations**',
      result => `**${result.check.violations.length}**`,
      fenced,
      control,
    ),
    row(
      'recoveries judged (all faults healed → next grant)',
      result => String(judged(result).length),
      fenced,
      control,
    ),
    row(
      'longest recovery',
      result =>
        judged(result).length
          ? `${Math.round(Math.max(...judged(result)))} ms`
          : '-',
      fenced,
      control,
    ),
    row(
      'recovery bound (lease + one retry cycle)',
      result => `${result.bounds.recoveryBoundMs} ms`,
      fenced,
      control,
    ),
    row(
      'operation bound',
      result => `${result.bounds.opBoundMs} ms`,
      fenced,
      control,
    ),
    row(
      'store restarts: down for, versions burnt after',
      result =>
        result.storeRestarts
          .map(restart => `${restart.downMs} ms / ${restart.burntVersions}`)
          .join('; ') || '-',
      fenced,
      control,
    ),
    '',
    '### Faults applied',
    '',
    '| kind | fenced run | control run |',
    '|---|---|---|',
    ...FAULT_KINDS.map(
      kind =>
        `| ${kind} | ${fenced.history.faults.filter(fault => fault.kind === kind).length} | ${control.history.faults.filter(fault => fault.kind === kind).length} |`,
    ),
    '',
    '### Violations, fenced run',
    '',
    ...violations(fenced),
    '',
    '### Violations, control run',
    '',
    'The control run must show some: it proves the checker catches lost and stale writes.',
    '',
    ...violations(control),
    '',
    ...(handler ? handlerReportLines(handler.fenced, handler.control) : []),
    '## Schedule of the fenced run',
    '',
    "Times from the start of the schedule; each worker's own clock offset: " +
      fenced.schedule.clockOffsetsMs
        .map(
          (offset, worker) => `w${worker} ${offset > 0 ? '+' : ''}${offset} ms`,
        )
        .join(', ') +
      '. A pause hits the worker holding the lock at that moment when there is one.',
    '',
    '| # | at | for | fault |',
    '|---|---|---|---|',
    ...fenced.schedule.faults.map(
      fault =>
        `| ${fault.id} | ${(fault.atMs / 1000).toFixed(1)} s | ${fault.durationMs} ms | ${describeFault(fault)} |`,
    ),
    '',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function row(
  label: string,
  cell: (result: RunResult) => string,
  fenced: RunResult,
  control: RunResult,
): string {
  return `| ${label} | ${cell(fenced)} | ${cell(control)} |`;
}

function judged(result: RunResult): number[] {
  return result.check.recoveries.flatMap(recovery =>
    recovery.ms === undefined ? [] : [recovery.ms],
  );
}

function violations(result: RunResult): string[] {
  if (result.check.violations.length === 0) return ['None.'];
  const shown = result.check.violations.slice(0, 8);
  return [
    ...shown.flatMap(violation => [
      `- **${violation.rule}**: ${violation.message}`,
      ...violation.ops.map(
        op =>
          `  - \`${JSON.stringify({at: Math.round(op.at), worker: op.worker, t: op.t, op: op.op, fence: op.fence, ...(op.reason ? {reason: op.reason.slice(0, 80)} : {})})}\``,
      ),
    ]),
    ...(result.check.violations.length > shown.length
      ? [
          `- ... and ${result.check.violations.length - shown.length} more (${summaryByRule(result)})`,
        ]
      : []),
  ];
}

function summaryByRule(result: RunResult): string {
  const counts = new Map<string, number>();
  for (const violation of result.check.violations)
    counts.set(violation.rule, (counts.get(violation.rule) ?? 0) + 1);
  return [...counts].map(([rule, count]) => `${rule}: ${count}`).join(', ');
}
