import {strict as assert} from 'node:assert';
import {createServer} from 'node:net';
import {ephemeralRangeStart, freePort, onFreePorts} from '../../infra/ports';
import {startService} from '../../infra/processes';

const node = process.execPath;

/** A service that prints what an emulator prints for a taken port, then hangs as the emulator does. */
function hangingAfter(line: string, port: number) {
  return {
    name: 'hanging service',
    port,
    command: node,
    args: [
      '-e',
      `console.error(${JSON.stringify(line)}); setInterval(() => {}, 1000)`,
    ],
    probe: async () => false,
    readyTimeoutMs: 20_000,
  };
}

describe('starting a local service', () => {
  it('output that means the start failed rejects at once, naming the line, not after the ready timeout', async () => {
    const started = Date.now();
    await assert.rejects(
      startService({
        ...hangingAfter(
          'Exception in thread "main" java.net.BindException: Address already in use',
          40_001,
        ),
        failsWhenOutput: /BindException/,
      }),
      /hanging service could not start on port 40001: Exception in thread "main" java\.net\.BindException/,
    );
    // Well inside the 20 s ready timeout: the rejection came from the output.
    assert.ok(Date.now() - started < 15_000);
  });

  it('a service that never answers is reported with its output', () =>
    assert.rejects(
      startService({
        ...hangingAfter('listening soon, honestly', 40_002),
        readyTimeoutMs: 300,
      }),
      /hanging service on port 40002 was not ready after 300 ms; its output:\nlistening soon, honestly/,
    ));

  it('freePort picks below the kernel ephemeral range, where no outgoing connection is given it', async () => {
    const ephemeralStart = ephemeralRangeStart();
    assert.ok(ephemeralStart !== undefined, 'this suite runs on Linux');
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(port >= 1024 && port < ephemeralStart, `${port}`);
      // And it is free: a listener binds it.
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });

  it('the ephemeral range is read from its first number; anything else is unknown', () => {
    assert.equal(
      ephemeralRangeStart(() => '32768\t60999\n'),
      32768,
    );
    assert.equal(
      ephemeralRangeStart(() => 'garbage'),
      undefined,
    );
    assert.equal(
      ephemeralRangeStart(() => {
        throw new Error('ENOENT');
      }),
      undefined,
    );
  });

  it('onFreePorts starts again only when a port was taken, and at most 3 times in all', async () => {
    let calls = 0;
    assert.equal(
      await onFreePorts(async () => {
        if (++calls < 3) throw new Error('port 20001 is already in use');
        return 'started';
      }),
      'started',
    );
    assert.equal(calls, 3);

    calls = 0;
    await assert.rejects(
      onFreePorts(async () => {
        calls++;
        throw new Error('java.net.BindException: Address already in use');
      }),
      /BindException/,
    );
    assert.equal(calls, 3);

    calls = 0;
    await assert.rejects(
      onFreePorts(async () => {
        calls++;
        throw new Error('the emulator is missing');
      }),
      /missing/,
    );
    assert.equal(calls, 1);
  });
});
