import {existsSync} from 'node:fs';
import {connect} from 'node:net';
import {assertPortFree, freePort} from './ports';
import {startService, type RunningService} from './processes';

/** Where Debian's `memcached` package puts the server. */
export const MEMCACHED_BINARY =
  process.env.MEMCACHED_BINARY ?? '/usr/bin/memcached';

export function memcachedInstalled(): boolean {
  return existsSync(MEMCACHED_BINARY);
}

export interface MemcachedOptions {
  /** A fixed port, so that a test can restart memcached where its clients still point. */
  readonly port?: number;
  /** Further server flags, such as `-C` (CAS disabled) to reproduce a misconfigured server. */
  readonly extraArgs?: readonly string[];
}

/**
 * Starts memcached on 127.0.0.1 (no UDP, 64 MB), as WEAK locks use it locally and in tests.
 * There is no systemd on these machines: the process is ours to start and stop.
 */
export async function startMemcached(
  options: MemcachedOptions = {},
): Promise<RunningService> {
  if (!memcachedInstalled()) {
    throw new Error(
      `memcached is not installed (${MEMCACHED_BINARY}): apt-get install -y memcached`,
    );
  }
  const port = options.port ?? (await freePort());
  await assertPortFree(port, 'memcached');
  return startService({
    name: 'memcached',
    port,
    command: MEMCACHED_BINARY,
    args: [
      '-u',
      'nobody',
      '-l',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      '0',
      '-m',
      '64',
      ...(options.extraArgs ?? []),
    ],
    probe: () => answersVersion(port),
    readyTimeoutMs: 10_000,
  });
}

function answersVersion(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('version\r\n'));
    socket.once('data', data => finish(data.toString().startsWith('VERSION')));
    function finish(ok: boolean) {
      socket.destroy();
      resolve(ok);
    }
  });
}
