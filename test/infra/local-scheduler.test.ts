import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {freePort} from '../../infra/ports';
import {scheduleCleanup} from '../../infra/local/scheduler';
import {configureLocking, Lock, peek} from '../../shared';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {startFunctionServer} from '../support/function-server';
import {delay, uniqueId} from '../support/ids';
import {waitForHttp} from '../support/worker-server';

const firestore = DATASTORE_TARGETS[1];

/** The local scheduler against the real cleanupLocks function (functions-framework CLI) that requires LOCKS_API_TOKEN. */
describe('infra: the local scheduler with LOCKS_API_TOKEN set', function () {
  this.timeout(60_000);
  const token = 'local-scheduler-token';
  let server: ChildProcess;
  let url: string;

  before(async () => {
    const port = await freePort();
    server = startFunctionServer('cleanupLocks', port, {
      DATASTORE_EMULATOR_HOST: firestore?.host(),
      LOCKS_API_TOKEN: token,
      LOCKS_CLEANUP_MAX_AGE_MS: '100',
    });
    await waitForHttp(port);
    url = `http://127.0.0.1:${port}/`;
    configureLocking({datastore: firestore?.client()});
  });
  after(() => {
    configureLocking();
    if (server.pid) process.kill(-server.pid, 'SIGKILL');
  });

  it("the function refuses a call without the token (so the scheduler's header is what lets it in)", async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: '{}',
    });
    assert.equal(response.status, 401);
  });

  it('sends the token from LOCKS_API_TOKEN: a scheduled cleanup deletes a stale lock', async () => {
    const stale = await Lock.acquire(uniqueId('scheduled-cleanup'));
    assert.ok(stale);
    await delay(150);
    const saved = process.env.LOCKS_API_TOKEN;
    process.env.LOCKS_API_TOKEN = token;
    const scheduler = scheduleCleanup(url, 100, false);
    if (saved === undefined) delete process.env.LOCKS_API_TOKEN;
    else process.env.LOCKS_API_TOKEN = saved;
    try {
      const deadline = Date.now() + 30_000;
      while ((await peek(stale.identifier)) !== null && Date.now() < deadline)
        await delay(100);
    } finally {
      scheduler.stop();
    }
    assert.equal(
      await peek(stale.identifier),
      null,
      'the scheduled cleanup did not delete the stale lock within 30 s',
    );
  });
});
