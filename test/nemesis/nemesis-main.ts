/**
 * `npm run nemesis [-- --seed N] [--duration-s S] [--control-duration-s S] [--workers W] [--lease-ms L]
 *   [--handler-duration-s S] [--handler-control-duration-s S] [--instances I] [--report FILE]`
 *
 * The register workload: the fenced run (the register written with fencedUpdate), then the
 * control run with the same seed and the fence check off. Then the handler workload: the example
 * worker on several Functions Framework instances (handler-run.ts), then its check-then-write
 * control. Exits 0 only when both fenced runs have no violation and both control runs have at
 * least one (the checker can fail). Writes NEMESIS.md (or --report) unless --no-report.
 * Needs root (network namespaces, iptables), iproute2, iptables, libfaketime and the Cloud SDK's
 * Datastore emulator.
 */
import {writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {asksForHelp, HelpRequested} from '../../infra/cli/command-line';
import {commandLineOrUsage} from '../support/main-command-line';
import {runHandlerNemesis, type HandlerRunResult} from './handler-run';
import {newSeed} from './random';
import {writeNemesisReport} from './report';
import {runNemesis, type RunResult} from './run';

interface Args {
  seed: number;
  durationS: number;
  controlDurationS: number;
  workers: number;
  leaseMs: number;
  handlerDurationS: number;
  handlerControlDurationS: number;
  instances: number;
  report: string | undefined;
}

export const NEMESIS_USAGE = `usage: sudo npm run nemesis [-- options]

The fenced register run, then its control run (fence check off) with the same seed; then the example
worker on several Functions Framework instances, fenced and control. Exits 0 only when both fenced
runs have no violation and both control runs have at least one. Needs root (network namespaces,
iptables), iproute2, iptables, libfaketime and the Cloud SDK's Datastore emulator.

  --seed N                          the schedule's seed (default: a new one; the replay line prints it)
  --duration-s S                    the fenced register run (default 300, at least 10)
  --control-duration-s S            the control register run (default 60, at least 10)
  --workers W                       register workers (default 5, at least 5)
  --lease-ms L                      the register workers' lease (default 2000)
  --handler-duration-s S            the fenced handler run (default 120, at least 10)
  --handler-control-duration-s S    the control handler run (default 60, at least 10)
  --instances I                     Functions Framework instances of the handler runs (default 3, at least 2)
  --report FILE                     write the report there (default NEMESIS.md in the current folder)
  --no-report                       write no report
  -h, --help                        print this and exit`;

/** Throws an Error naming a bad argument, or HelpRequested for `--help`. */
export function parseArgs(argv: readonly string[]): Args {
  if (asksForHelp(argv)) throw new HelpRequested(NEMESIS_USAGE);
  const args: Args = {
    seed: newSeed(),
    durationS: 300,
    controlDurationS: 60,
    workers: 5,
    leaseMs: 2000,
    handlerDurationS: 120,
    handlerControlDurationS: 60,
    instances: 3,
    report: join(process.cwd(), 'NEMESIS.md'),
  };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => {
      const text = argv[++index];
      const number = Number(text);
      if (text === undefined || !Number.isInteger(number) || number < 0)
        throw new Error(`${flag} needs a whole number, got ${text}`);
      return number;
    };
    switch (flag) {
      case '--seed':
        args.seed = value();
        break;
      case '--duration-s':
        args.durationS = value();
        break;
      case '--control-duration-s':
        args.controlDurationS = value();
        break;
      case '--workers':
        args.workers = value();
        break;
      case '--lease-ms':
        args.leaseMs = value();
        break;
      case '--handler-duration-s':
        args.handlerDurationS = value();
        break;
      case '--handler-control-duration-s':
        args.handlerControlDurationS = value();
        break;
      case '--instances':
        args.instances = value();
        break;
      case '--report': {
        const file = argv[++index];
        if (file === undefined || file === '' || file.startsWith('-'))
          throw new Error('--report needs a file');
        args.report = file;
        break;
      }
      case '--no-report':
        args.report = undefined;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (args.workers < 5) throw new Error('--workers must be at least 5');
  if (args.instances < 2) throw new Error('--instances must be at least 2');
  if (
    args.durationS < 10 ||
    args.controlDurationS < 10 ||
    args.handlerDurationS < 10 ||
    args.handlerControlDurationS < 10
  )
    throw new Error('durations must be at least 10 s');
  return args;
}

export function replayCommand(
  args: Pick<
    Args,
    | 'seed'
    | 'durationS'
    | 'controlDurationS'
    | 'workers'
    | 'leaseMs'
    | 'handlerDurationS'
    | 'handlerControlDurationS'
    | 'instances'
  >,
): string {
  return `sudo npm run nemesis -- --seed ${args.seed} --duration-s ${args.durationS} --control-duration-s ${args.controlDurationS} --workers ${args.workers} --lease-ms ${args.leaseMs} --handler-duration-s ${args.handlerDurationS} --handler-control-duration-s ${args.handlerControlDurationS} --instances ${args.instances}`;
}

/** The whole run (schedule, history, register log, check), for a closer look than the report gives. */
function saveRun(result: RunResult): string {
  const path = join(
    tmpdir(),
    `nemesis-${result.options.seed}-${result.options.fenced ? 'fenced' : 'control'}.json`,
  );
  writeFileSync(
    path,
    JSON.stringify(result, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    ),
  );
  return path;
}

function summary(result: RunResult): string {
  const {counts, violations, recoveries} = result.check;
  const judged = recoveries.flatMap(recovery =>
    recovery.ms === undefined ? [] : [recovery.ms],
  );
  return `${result.options.fenced ? 'fenced' : 'control'}: ops ${counts.invoked} (ok ${counts.ok}, fail ${counts.fail}, unknown ${counts.unknown}, crashed ${counts.crashed}); register ${result.check.logLength} increments; violations ${violations.length}; longest recovery ${judged.length ? Math.round(Math.max(...judged)) : '-'} ms`;
}

/** The handler workload's lease and deadline: short, so a pause of a few seconds outlasts both. */
const HANDLER_LEASE_MS = 1000;
const HANDLER_DEADLINE_MS = 1500;

function handlerSummary(result: HandlerRunResult): string {
  return `handler ${result.options.fenced ? 'fenced' : 'control'}: ${result.check.events} events, ${result.check.counted} counted; ${result.faults.length} faults; ${result.seen.staleFence} refused STALE_FENCE; violations ${result.check.violations.length}${result.check.violations.map(violation => `\n[nemesis]   ${violation.rule}: ${violation.message}`).join('')}`;
}

async function main(args: Args): Promise<number> {
  // No metadata-server probe (and no warning about it) from the Google clients.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  console.log(`[nemesis] seed ${args.seed}; replay: ${replayCommand(args)}`);
  const log = (line: string) => console.log(`[nemesis] ${line}`);
  const shape = {
    seed: args.seed,
    workers: args.workers,
    leaseMs: args.leaseMs,
    log,
  };
  const fenced = await runNemesis({
    ...shape,
    durationMs: args.durationS * 1000,
    fenced: true,
  });
  console.log(`[nemesis] ${summary(fenced)} (history: ${saveRun(fenced)})`);
  for (const violation of fenced.check.violations)
    console.log(
      `[nemesis]   VIOLATION ${violation.rule}: ${violation.message}\n${violation.ops.map(op => `      ${JSON.stringify(op)}`).join('\n')}`,
    );
  const control = await runNemesis({
    ...shape,
    durationMs: args.controlDurationS * 1000,
    fenced: false,
  });
  console.log(`[nemesis] ${summary(control)} (history: ${saveRun(control)})`);
  for (const violation of control.check.violations.slice(0, 10))
    console.log(
      `[nemesis]   control run caught ${violation.rule}: ${violation.message}`,
    );
  const handler = {
    shape: {
      seed: args.seed,
      instances: args.instances,
      leaseMs: HANDLER_LEASE_MS,
      deadlineMs: HANDLER_DEADLINE_MS,
      log,
    },
  };
  const handlerFenced = await runHandlerNemesis({
    ...handler.shape,
    durationMs: args.handlerDurationS * 1000,
    fenced: true,
  });
  console.log(`[nemesis] ${handlerSummary(handlerFenced)}`);
  const handlerControl = await runHandlerNemesis({
    ...handler.shape,
    durationMs: args.handlerControlDurationS * 1000,
    fenced: false,
  });
  console.log(`[nemesis] ${handlerSummary(handlerControl)}`);
  if (args.report) {
    writeNemesisReport(args.report, fenced, control, replayCommand(args), {
      fenced: handlerFenced,
      control: handlerControl,
    });
    console.log(`[nemesis] wrote ${args.report}`);
  }
  const passed =
    fenced.check.violations.length === 0 &&
    control.check.violations.length > 0 &&
    handlerFenced.check.violations.length === 0 &&
    handlerControl.check.violations.length > 0;
  console.log(
    `[nemesis] ${passed ? 'passed' : 'FAILED'}: fenced run ${fenced.check.violations.length} violations (target 0); control run ${control.check.violations.length} (must be > 0); handler fenced run ${handlerFenced.check.violations.length} (target 0); handler control run ${handlerControl.check.violations.length} (must be > 0)`,
  );
  return passed ? 0 : 1;
}

// `--help` (or a bad argument) is answered before anything starts.
const commandLine =
  require.main === module
    ? commandLineOrUsage('nemesis', () => parseArgs(process.argv.slice(2)))
    : undefined;
if (commandLine) {
  // Ctrl-C: exit, so every 'exit' hook removes what the run created (namespaces, bridge, processes).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  main(commandLine.args).then(
    code => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
