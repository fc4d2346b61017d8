import {strict as assert} from 'node:assert';
import {runToEnd} from '../../infra/spawn-and-wait';
import {memcacheHost} from '../support/memcache-target';

/** An app without the optional peer dependency: locks work, and the events channel still reports. */
describe('without @opentelemetry/api installed', () => {
  it('locks work and telemetry is skipped; the events channel still publishes', async () => {
    const {code, stdout, stderr} = await runToEnd(
      process.execPath,
      [
        '-r',
        require.resolve('../support/without-otel-api'),
        require.resolve('../support/lock-cycle-child'),
      ],
      {
        env: {...process.env, MEMCACHE_SERVERS: memcacheHost()},
        timeoutMs: 20_000,
      },
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(
      stdout.trim().split('\n').pop() ?? '{}',
    ) as Record<string, unknown>;
    assert.deepEqual(result, {
      acquired: true,
      released: true,
      otelLoadable: false,
      events: ['acquire:acquired', 'release:released'],
    });
  });
});
