import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import type {Redis} from 'iovalkey';
import {spawnChild} from '../../infra/spawn-and-wait';
import type {RunningService} from '../../infra/processes';
import {startValkey} from '../../infra/valkey';
import {createLocking, LockError, LockKind, type Locking} from '../../shared';
import {BUDGET_GRACE_MS} from '../../shared/core/budget';
import {lockKeys} from '../../shared/stores/valkey/lock-keys';
import {ACQUIRE} from '../../shared/stores/valkey/lua-scripts';
import {delay, uniqueId} from '../support/ids';
import {
  startStallingProxy,
  type StallingProxy,
} from '../support/stalling-proxy';
import {valkeyServerPid, valkeyUntil} from '../support/valkey-server-process';
import {valkeyClient, valkeyHost} from '../support/valkey-target';

const WEAK = {kind: LockKind.WEAK} as const;
const RPC_TIMEOUT_MS = 1_000;
const WAIT_FOR_MS = 1_500;
/** docs/how-it-works.md, "an acquire fails while its write is on its way": gone within this of the store answering. */
const BOUND_MS = 2_000;
/** Slack for a loaded machine: these tests prove bounds, not speed. */
const SLACK_MS = 3_000;

const unavailable = (error: unknown) =>
  error instanceof LockError && error.code === 'BACKEND_UNAVAILABLE';

/** The library on `client`, its connection open (as a warm instance's is) before the fault. */
async function warmLocking(client: Redis): Promise<Locking> {
  const locking = createLocking({
    valkey: client,
    rpcTimeoutMs: RPC_TIMEOUT_MS,
    retry: {initialMs: 5, maxMs: 20, maxAttempts: 3},
  });
  const warm = await locking.Lock.acquire(uniqueId('warm'), {
    ...WEAK,
    wait: false,
  });
  assert.ok(warm, 'granted before the fault');
  await warm.release();
  return locking;
}

/** What the server holds for `identifier`: its lock's value (or null) and its fence counter. */
function storedOf(observer: Redis, identifier: string) {
  const keys = lockKeys('lock:', identifier);
  return async () => ({
    lock: await observer.get(keys.lock),
    fence: await observer.get(keys.fence),
  });
}

/**
 * A Valkey server that stops answering while an acquire's script is on its way: no grant may be
 * left behind that nobody knows of. The failed acquire's clean-up (shared/core/attempts.ts,
 * abandonAcquire) releases its token; on Valkey those releases travel on the same connection as
 * the acquire, so the server runs them after it, in order, once it answers again.
 */
describe('WEAK locks on Valkey: a stalled server', function () {
  this.timeout(60_000);
  let server: RunningService | undefined;
  let stoppedPid: number | undefined;
  let proxy: StallingProxy | undefined;
  const clients: Redis[] = [];
  const client = (host: string) => {
    const made = valkeyClient(host);
    clients.push(made);
    return made;
  };

  afterEach(async () => {
    if (stoppedPid !== undefined) process.kill(stoppedPid, 'SIGCONT');
    stoppedPid = undefined;
    proxy?.resume();
    await proxy?.close();
    proxy = undefined;
    for (const made of clients.splice(0)) made.disconnect();
    await server?.stop();
    server = undefined;
  });

  it('a stopped server (SIGSTOP): BACKEND_UNAVAILABLE within the budget; once it continues the late grant is removed and another process gets the lock', async () => {
    server = await startValkey();
    const own = client(server.host);
    const locking = await warmLocking(own);
    const pid = await valkeyServerPid(own);
    const identifier = uniqueId('valkey-stopped');

    process.kill(pid, 'SIGSTOP');
    stoppedPid = pid;
    const started = Date.now();
    await assert.rejects(
      locking.Lock.acquire(identifier, {...WEAK, waitForMs: WAIT_FOR_MS}),
      unavailable,
    );
    const failedMs = Date.now() - started;
    // The wait's budget, its grace for the last attempt, and the clean-up's grace (budget.ts).
    assert.ok(
      failedMs < WAIT_FOR_MS + 2 * BUDGET_GRACE_MS + SLACK_MS,
      `failed after ${failedMs} ms`,
    );

    process.kill(pid, 'SIGCONT');
    stoppedPid = undefined;
    const resumedAt = Date.now();
    const observer = client(server.host);
    const settled = await valkeyUntil(
      storedOf(observer, identifier),
      ({lock, fence}) => lock === null && fence !== null,
      BOUND_MS + SLACK_MS,
    );
    const goneMs = Date.now() - resumedAt;
    // The stalled acquire did run, late, and once: the grant existed and was removed.
    assert.equal(settled.fence, '1', 'the late acquire ran once');
    assert.ok(goneMs < BOUND_MS + SLACK_MS, `gone ${goneMs} ms after SIGCONT`);

    const other = spawnChild(
      process.execPath,
      [join(__dirname, '../support/valkey-waiter.js')],
      {
        env: {
          ...process.env,
          VALKEY_URL: `redis://${server.host}`,
          IDENTIFIER: identifier,
        },
      },
    );
    try {
      const status = await other.closed;
      assert.equal(status.code, 0, other.output());
      assert.match(other.output(), /"grantedAt":\d+,"attempts":1\b/);
    } finally {
      other.kill('SIGKILL');
    }
    process.stdout.write(
      `      (failed after ${failedMs} ms; the late grant gone ${goneMs} ms after SIGCONT)\n`,
    );
  });

  it('a connection dropped with the acquire unanswered: the acquire is never sent again, and its late grant is removed', async () => {
    proxy = await startStallingProxy(valkeyHost());
    const own = client(proxy.host);
    const locking = await warmLocking(own);
    const identifier = uniqueId('valkey-dropped');
    // Every acquire script the server runs for this lock, whichever connection sent it: a re-sent
    // acquire finds its own token's lock and changes nothing, so only counting shows it.
    const monitor = await client(valkeyHost()).monitor();
    clients.push(monitor);
    let acquires = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      const [command, sha] = args;
      if (
        /^eval(sha)?$/i.test(command ?? '') &&
        (sha === ACQUIRE.sha || sha === ACQUIRE.source) &&
        args.includes(lockKeys('lock:', identifier).lock)
      )
        acquires++;
    });

    proxy.stall();
    const failing = locking.Lock.acquire(identifier, {...WEAK, wait: false});
    await delay(100);
    // The connection breaks under the unanswered acquire; the proxy still delivers it to the
    // server when it resumes, as a network that held the bytes would.
    own.stream.destroy();
    await assert.rejects(failing, unavailable);
    proxy.resume();
    const resumedAt = Date.now();

    const observer = client(valkeyHost());
    const settled = await valkeyUntil(
      storedOf(observer, identifier),
      ({lock, fence}) => lock === null && fence !== null,
      BOUND_MS + SLACK_MS,
    );
    const goneMs = Date.now() - resumedAt;
    assert.equal(settled.fence, '1', 'the acquire ran');
    await valkeyUntil(
      () => Promise.resolve(own.status),
      status => status === 'ready',
      10_000,
    );
    // Time for anything the reconnected client kept to arrive.
    await delay(500);
    assert.equal(acquires, 1, 'the acquire was sent once, never again');
    assert.deepEqual(await storedOf(observer, identifier)(), {
      lock: null,
      fence: '1',
    });
    const next = await locking.Lock.acquire(identifier, {...WEAK, wait: false});
    assert.ok(next, 'the lock is free');
    await next.release();
    process.stdout.write(
      `      (the late grant gone ${goneMs} ms after the proxy resumed)\n`,
    );
  });
});
