import {strict as assert} from 'node:assert';
import {readFileSync} from 'node:fs';
import {
  answersHttp,
  runToEnd,
  spawnChild,
  waitUntil,
} from '../../infra/spawn-and-wait';

const node = process.execPath;

/** Running, and not a zombie waiting for a parent that may never reap it (Linux). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('spawn and wait', () => {
  it('runToEnd gives the exit code and both streams, interleaved as printed', async () => {
    const result = await runToEnd(node, [
      '-e',
      'process.stdout.write("a"); setTimeout(() => { process.stderr.write("b"); process.exit(3); }, 50)',
    ]);
    assert.deepEqual(result, {
      code: 3,
      signal: null,
      stdout: 'a',
      stderr: 'b',
      output: 'ab',
    });
  });

  it('runToEnd stops a command past its timeout', async () => {
    const result = await runToEnd(node, ['-e', 'setTimeout(() => {}, 60000)'], {
      timeoutMs: 200,
    });
    assert.deepEqual([result.code, result.signal], [null, 'SIGTERM']);
  });

  it('runToEnd rejects a command that cannot start', async () =>
    assert.rejects(runToEnd('/nonexistent/command', []), /ENOENT/));

  it('a child in its own group is killed with what it started', async () => {
    const parent = spawnChild(
      node,
      [
        '-e',
        `const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'});
         console.log(c.pid); setInterval(() => {}, 1000);`,
      ],
      {group: true},
    );
    await waitUntil(
      async () => /^\d+\n/.test(parent.output()),
      10_000,
      'the grandchild',
    );
    const grandchild = Number(parent.output().trim());
    try {
      assert.ok(alive(grandchild));
      parent.kill('SIGKILL');
      assert.equal((await parent.closed).signal, 'SIGKILL');
      await waitUntil(
        async () => !alive(grandchild),
        5000,
        'the grandchild gone',
      );
    } finally {
      // Should the group kill miss it, the grandchild must not outlive the test.
      if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }
  });

  it('waitUntil resolves once the probe answers true, counting a throw as not yet', async () => {
    let calls = 0;
    await waitUntil(
      async () => {
        calls++;
        if (calls === 1) throw new Error('not up');
        return calls === 3;
      },
      5000,
      'the probe',
      {intervalMs: 10},
    );
    assert.equal(calls, 3);
  });

  it('waitUntil stops polling once its signal aborts, with the reason', async () => {
    const stop = new AbortController();
    let calls = 0;
    const waiting = waitUntil(
      async () => {
        calls++;
        return false;
      },
      5000,
      'the probe',
      {intervalMs: 10, signal: stop.signal},
    );
    await new Promise(resolve => setTimeout(resolve, 50));
    stop.abort(new Error('the start failed'));
    await assert.rejects(waiting, /the start failed/);
    const callsAtAbort = calls;
    await new Promise(resolve => setTimeout(resolve, 50));
    assert.equal(calls, callsAtAbort);
  });

  it('waitUntil names what was not ready in time', () =>
    assert.rejects(
      waitUntil(async () => false, 100, 'the thing', {intervalMs: 20}),
      /the thing was not ready after 100 ms/,
    ));

  it('answersHttp: nothing listening is an error, for waitUntil to retry', () =>
    assert.rejects(answersHttp('http://127.0.0.1:9/')));
});
