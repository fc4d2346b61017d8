import {Client} from 'memjs';
import {closeAtEnd} from './closed-at-end';
import {MEMCACHE_HOST_VARIABLE} from './global-setup';

const silent = {log: () => undefined};

/** The test run's memcached, `127.0.0.1:PORT`; read at test time, after the global fixture set it. */
export function memcacheHost(): string {
  const host = process.env[MEMCACHE_HOST_VARIABLE];
  if (!host)
    throw new Error(
      `${MEMCACHE_HOST_VARIABLE} is not set: the global test fixture did not start memcached`,
    );
  return host;
}

/** A memjs client for the run's memcached, closed after the last test (test/support/closed-at-end.ts). */
export function memcacheClient(host: string = memcacheHost()): Client {
  return closeAtEnd(
    Client.create(host, {logger: silent, timeout: 0.5, conntimeout: 1}),
  );
}
