import {strict as assert} from 'node:assert';
import {execFile} from 'node:child_process';
import {promisify} from 'node:util';
import {memcacheHost} from '../support/memcache-target';

const run = promisify(execFile);

/** An app without the optional peer dependency: locks work, and the events channel still reports. */
describe('without @opentelemetry/api installed', () => {
  it('locks work and telemetry is skipped; the events channel still publishes', async () => {
    const {stdout} = await run(
      process.execPath,
      [
        '-r',
        require.resolve('../support/without-otel-api'),
        require.resolve('../support/lock-cycle-child'),
      ],
      {
        env: {...process.env, MEMCACHE_SERVERS: memcacheHost()},
        timeout: 20_000,
      },
    );
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
