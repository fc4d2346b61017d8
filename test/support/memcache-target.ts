import {Client} from 'memjs';
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

export function memcacheClient(host: string = memcacheHost()): Client {
  return Client.create(host, {logger: silent, timeout: 0.5, conntimeout: 1});
}
