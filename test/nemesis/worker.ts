/**
 * One nemesis worker: a process in its own network namespace, under libfaketime (its clock is
 * off by its own offset, and jumps when the nemesis rewrites its FAKETIME_TIMESTAMP_FILE), doing
 * increments of the register under a STRONG lock with a lease until told to stop (SIGTERM), for at
 * most MAX_OPS operations and RUN_FOR_MS (monotonic time, which libfaketime leaves alone here).
 *
 * Each increment: acquire (bounded wait), read the register (`claim`), work a little, write it
 * back plus this increment (`append`) with the grant's fence, release. It deliberately does not
 * look at `held.signal` before writing: a holder can always lose the lock between such a check
 * and its write, and the fence is what must catch that.
 *
 * Prints one JSON line per event, read by the run, which stamps them with its own clock:
 *   {t: "invoke", op}  {t: "granted", op, fence}  {t: "claimed", op, fence} (read the register, now working)
 *   {t: "ok" | "fail" | "unknown", op, fence?, reason?}
 */
import {Datastore} from '@google-cloud/datastore';
import {performance} from 'node:perf_hooks';
import {configureLocking, Lock, LockError} from '../../shared';
import {requiredEnv, runAsProcess} from '../support/worker-process';
import {Register} from './register';

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({...line, clock: Date.now()})}\n`);
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const worker = requiredEnv('WORKER');
  const incarnation = requiredEnv('INCARNATION');
  const lockId = requiredEnv('LOCK_ID');
  const leaseMs = Number(requiredEnv('LEASE_MS'));
  const waitForMs = Number(requiredEnv('WAIT_FOR_MS'));
  const rpcTimeoutMs = Number(requiredEnv('RPC_TIMEOUT_MS'));
  const maxOps = Number(requiredEnv('MAX_OPS'));
  const endAt = performance.now() + Number(requiredEnv('RUN_FOR_MS'));
  const datastore = new Datastore();
  configureLocking({datastore, rpcTimeoutMs});
  const register = new Register(
    datastore,
    requiredEnv('REGISTER'),
    requiredEnv('FENCED') === '1',
    rpcTimeoutMs,
  );

  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));
  const alive = setInterval(() => undefined, 1000);
  for (let n = 0; n < maxOps && !stopping && performance.now() < endAt; n++) {
    const op = `w${worker}.${incarnation}.${n}`;
    say({t: 'invoke', op});
    let held: Lock | null = null;
    try {
      held = await Lock.acquire(lockId, {leaseMs, waitForMs, autoRenew: true});
      if (!held) {
        say({t: 'fail', op, reason: 'not acquired'});
        continue;
      }
      const fence = held.fence as bigint;
      say({t: 'granted', op, fence: String(fence)});
      let read;
      try {
        read = await register.claim(fence);
      } catch (error) {
        // Nothing of this increment was written: a claim leaves the data as it was.
        say({t: 'fail', op, fence: String(fence), reason: reasonOf(error)});
        continue;
      }
      say({t: 'claimed', op, fence: String(fence)});
      await sleep(100 + Math.random() * 200);
      try {
        await register.append(fence, read, op);
        say({t: 'ok', op, fence: String(fence)});
      } catch (error) {
        const maybe =
          (error as {mayHaveApplied?: boolean}).mayHaveApplied === true;
        say({
          t: maybe ? 'unknown' : 'fail',
          op,
          fence: String(fence),
          reason: reasonOf(error),
        });
      }
    } catch (error) {
      say({t: 'fail', op, reason: reasonOf(error)});
    } finally {
      await held?.release().catch(() => undefined);
    }
    await sleep(10 + Math.random() * 40);
  }
  clearInterval(alive);
}

function reasonOf(error: unknown): string {
  if (error instanceof LockError)
    return `${error.code}: ${error.message.slice(0, 160)}`;
  return String((error as Error)?.message ?? error).slice(0, 160);
}

runAsProcess(main);
