/**
 * Compile-time check (nothing here runs): memjs's own Client, as its types describe it, is a
 * MemcacheClient, so `configureLocking({ memcache: memjs.Client.create() })` compiles. The public
 * types declare the interface themselves rather than import memjs's, which only this repository installs.
 */
import type {Client} from 'memjs';
import type {LockingConfig} from '../../shared';
import type {MemcacheClient} from '../../shared/stores/memcached/memcache-client';

export function memjsClientIsAMemcacheClient(client: Client): MemcacheClient {
  return client;
}

export function memjsClientConfiguresWeakLocks(client: Client): LockingConfig {
  return {memcache: client};
}
