/**
 * Compile-time check (nothing here runs): iovalkey's own Redis is a ValkeyClient, so
 * `configureLocking({valkey: new Redis(url)})` and `createValkeyBackend(new Redis(url))` compile.
 * The public types declare the interface themselves rather than import iovalkey's.
 */
import type {Redis} from 'iovalkey';
import type {LockingConfig} from '../../shared';
import type {ValkeyClient} from '../../shared/stores/valkey';

export function iovalkeyIsAValkeyClient(client: Redis): ValkeyClient {
  return client;
}

export function iovalkeyConfiguresWeakLocks(client: Redis): LockingConfig {
  return {valkey: client};
}
