import type {HandlerRunResult} from './handler-run';

/** NEMESIS.md's section on the handler workload: every figure from its two runs. */
export function handlerReportLines(
  fenced: HandlerRunResult,
  control: HandlerRunResult,
): string[] {
  const row = (label: string, cell: (result: HandlerRunResult) => string) =>
    `| ${label} | ${cell(fenced)} | ${cell(control)} |`;
  const faults = (result: HandlerRunResult, kind: 'pause' | 'kill') =>
    result.faults.filter(fault => fault.kind === kind);
  return [
    '## Handler workload',
    '',
    `The example worker (\`functions/example-worker.ts\`) on ${fenced.options.instances} Functions Framework instances, each fed by its own Pub/Sub push subscription and re-queueing to its own retry topic, as \`npm run deploy\` wires one function. Events are published every ${fenced.publishEveryMs} ms to a random instance; each adds 1 to one of ${fenced.accounts} accounts, so the accounts contend across instances. Lease ${fenced.options.leaseMs} ms, deadline (\`deadlineMs\`, when renewals stop) ${fenced.options.deadlineMs} ms, ${fenced.workMs} ms of work inside the lock before the write. Faults: an instance paused (SIGSTOP) inside its handler for longer than the deadline plus the lease, then resumed (SIGCONT), as Cloud Run leaves a timed-out request running; an instance killed (SIGKILL) and replaced 0.3 to 2 s later behind the same URL, which holds the pushes that arrive meanwhile for the replacement, as Cloud Run routes a push to a live instance (a push the killed process had taken is answered 503 and redelivered). The push subscriptions have no retry policy: the Pub/Sub emulator 0.8.20 can stop redelivering for good a subscription with one (\`test/support/worker-instance.ts\`), so a failed push comes back after the emulator's own 1 s. A stand-in for Cloud Scheduler calls the cleanup every ${(fenced.options.cleanupEveryMs ?? 60_000) / 1000} s, the waiting room's backstop for messages parked behind a killed holder once no new event arrives on their key. After the faults, Pub/Sub redelivers until every event is acknowledged; each balance must then equal its number of events. The fenced run is the example worker itself (\`held.fencedUpdate\` with the event id as once-key); the control run serves the old check-then-write (\`test/support/worker-check-then-write.ts\`: read, check \`held.signal\`, work, plain save), a test fixture only. Store: the legacy Datastore emulator.`,
    '',
    '| | fenced run (example worker) | control run (check-then-write) |',
    '|---|---|---|',
    row(
      'length (events published over)',
      result =>
        `${result.options.durationMs / 1000} s (wall ${(result.wallMs / 1000).toFixed(0)} s)`,
    ),
    row('events published', result => String(result.check.events)),
    row('counted in the balances', result => String(result.check.counted)),
    row(
      'pauses past deadline + lease (inside a handler)',
      result =>
        `${faults(result, 'pause').length} (${faults(result, 'pause').filter(fault => fault.midHandler).length})`,
    ),
    row('kills', result => String(faults(result, 'kill').length)),
    row('late writes refused STALE_FENCE', result =>
      String(result.seen.staleFence),
    ),
    row('invocations failed LOCK_LOST', result => String(result.seen.lockLost)),
    row('redeliveries found applied (once-key)', result =>
      String(result.seen.duplicates),
    ),
    row(
      'stranded parked messages dispatched by the scheduled cleanup (runs)',
      result => `${result.cleanup.dispatched} (${result.cleanup.runs})`,
    ),
    row('settled after the faults in', result => `${result.settleMs} ms`),
    row('**violations**', result => `**${result.check.violations.length}**`),
    '',
    '### Violations, handler fenced run',
    '',
    ...shown(fenced),
    '',
    '### Violations, handler control run',
    '',
    'The control run must show some: it proves the checker catches a late instance overwriting a newer balance.',
    '',
    ...shown(control),
    '',
  ];
}

function shown(result: HandlerRunResult): string[] {
  return result.check.violations.length === 0
    ? ['None.']
    : result.check.violations.map(
        violation => `- **${violation.rule}**: ${violation.message}`,
      );
}
