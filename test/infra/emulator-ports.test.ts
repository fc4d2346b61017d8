import {strict as assert} from 'node:assert';
import {createServer, type Server} from 'node:net';
import * as sinon from 'sinon';
import {startEmulator} from '../../infra/emulators';
import * as ports from '../../infra/ports';

/**
 * The Pub/Sub emulator does not exit when its port is taken: it prints a BindException and hangs.
 * A port taken between the pick and the bind must fail that start at once and pick another, not
 * leave the run waiting out the 60 s ready timeout (as a CI run once did).
 */
describe('an emulator whose picked port is taken before it binds', function () {
  this.timeout(60_000);
  let holder: Server | undefined;
  afterEach(async () => {
    sinon.restore();
    await new Promise(resolve => holder?.close(resolve) ?? resolve(undefined));
  });

  it('fails that start on the BindException and starts on another free port', async () => {
    const taken = await ports.freePort();
    // Connections (the readiness probe's) are closed at once: none outlives the test.
    holder = createServer(socket => socket.destroy());
    await new Promise<void>(resolve =>
      holder!.listen(taken, '127.0.0.1', resolve),
    );
    // The pick says free; by the time the emulator binds it, it is not (the check before launch is
    // skipped too, as it would be when the port is taken in between).
    const freePort = sinon.stub(ports, 'freePort').callThrough();
    freePort.onFirstCall().resolves(taken);
    sinon.stub(ports, 'assertPortFree').callThrough().onFirstCall().resolves();
    const emulator = await startEmulator('pubsub', {readyTimeoutMs: 45_000});
    try {
      assert.notEqual(emulator.port, taken);
      assert.equal(freePort.callCount, 2);
    } finally {
      await emulator.stop();
    }
  });
});
