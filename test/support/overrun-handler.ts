/**
 * A function instance whose lockedHandler runs past its deadline, for the test that pauses it
 * (SIGSTOP) past its lease. TARGET names the store (a name in EVERY_STORE), found as the test
 * run's (the global fixture's variables, inherited). The handler does what the issue's
 * worker did: it reads from the store, then checks its signal, over and over, until the signal has
 * aborted. JSON lines on stdout, each with `at` (this host's clock, ms):
 *   {event: "running", expiresAt}                       the handler started
 *   {event: "check", aborted, pastDeadline, expiresAt}  one read, then one look at the signal
 *   {event: "aborted", code}                            the signal's abort event fired
 *   {event: "done", outcome, code?}                     what the invocation settled with
 */
import {configureLocking, peek, type LockError} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';
import {EVERY_STORE} from './every-store';
import {delay} from './ids';
import {pubsubEvent} from './pubsub-fixtures';
import {warmUp} from './warm-up';
import {requiredEnv, runAsProcess} from './worker-process';

function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({...line, at: Date.now()})}\n`);
}

async function main(): Promise<void> {
  const targetName = requiredEnv('TARGET');
  const identifier = requiredEnv('IDENTIFIER');
  const leaseMs = Number(requiredEnv('LEASE_MS'));
  const deadlineMs = Number(requiredEnv('DEADLINE_MS'));
  const store = EVERY_STORE.find(target => target.name === targetName);
  if (!store) throw new Error(`unknown TARGET ${targetName}`);
  const kind = store.kind;
  configureLocking(store.config());
  // A cold client's first calls would eat the short deadline's wait budget.
  await warmUp(kind);

  const deadline = Date.now() + deadlineMs;
  const handler = lockedHandler(
    {identifier: () => identifier, kind, leaseMs, deadlineMs},
    async (_event, held) => {
      held.signal.addEventListener('abort', () =>
        report({
          event: 'aborted',
          code: (held.signal.reason as LockError).code,
        }),
      );
      report({event: 'running', expiresAt: held.expiresAt?.getTime()});
      for (;;) {
        await peek(identifier, {kind});
        const aborted = held.signal.aborted;
        report({
          event: 'check',
          aborted,
          pastDeadline: Date.now() >= deadline,
          expiresAt: held.expiresAt?.getTime(),
        });
        if (aborted) return;
        await delay(20);
      }
    },
  );
  await handler(pubsubEvent('projects/p/topics/unused', {})).then(
    () => report({event: 'done', outcome: 'acknowledged'}),
    (error: unknown) =>
      report({
        event: 'done',
        outcome: 'rejected',
        code: (error as LockError).code,
      }),
  );
}

runAsProcess(main);
