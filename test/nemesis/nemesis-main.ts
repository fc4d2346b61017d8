/**
 * `npm run nemesis [-- --seed N] [--duration-s S] [--control-duration-s S] [--workers W] [--lease-ms L] [--report FILE]`
 *
 * The fenced run (the register written with fencedUpdate), then the control run with the same
 * seed and the fence check off. Exits 0 only when the fenced run has no violation and the control
 * run has at least one (the checker can fail). Writes NEMESIS.md (or --report) unless --no-report.
 * Needs root (network namespaces, iptables), iproute2, iptables, libfaketime and the Cloud SDK's
 * Datastore emulator.
 */
import {writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {newSeed} from './random';
import {writeNemesisReport} from './report';
import {runNemesis, type RunResult} from './run';

interface Args {
  seed: number;
  durationS: number;
  controlDurationS: number;
  workers: number;
  leaseMs: number;
  report: string | undefined;
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seed: newSeed(),
    durationS: 300,
    controlDurationS: 60,
    workers: 5,
    leaseMs: 2000,
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
      case '--report':
        args.report = argv[++index];
        break;
      case '--no-report':
        args.report = undefined;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (args.workers < 5) throw new Error('--workers must be at least 5');
  if (args.durationS < 10 || args.controlDurationS < 10)
    throw new Error('durations must be at least 10 s');
  return args;
}

export function replayCommand(
  args: Pick<
    Args,
    'seed' | 'durationS' | 'controlDurationS' | 'workers' | 'leaseMs'
  >,
): string {
  return `sudo npm run nemesis -- --seed ${args.seed} --duration-s ${args.durationS} --control-duration-s ${args.controlDurationS} --workers ${args.workers} --lease-ms ${args.leaseMs}`;
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

async function main(): Promise<number> {
  // No metadata-server probe (and no warning about it) from the Google clients.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const args = parseArgs(process.argv.slice(2));
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
  if (args.report) {
    writeNemesisReport(args.report, fenced, control, replayCommand(args));
    console.log(`[nemesis] wrote ${args.report}`);
  }
  const passed =
    fenced.check.violations.length === 0 && control.check.violations.length > 0;
  console.log(
    `[nemesis] ${passed ? 'passed' : 'FAILED'}: fenced run ${fenced.check.violations.length} violations (target 0); control run ${control.check.violations.length} (must be > 0)`,
  );
  return passed ? 0 : 1;
}

if (require.main === module) {
  // Ctrl-C: exit, so every 'exit' hook removes what the run created (namespaces, bridge, processes).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  main().then(
    code => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
