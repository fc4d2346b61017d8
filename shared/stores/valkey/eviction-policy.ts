import type {LockLogger} from '../../telemetry/logger';
import type {ValkeyCalls} from './valkey-calls';

/**
 * Every policy but `noeviction` can evict a lock key: the `allkeys-*` ones any key, the
 * `volatile-*` ones (Memorystore's default is `volatile-lru`) any key with a TTL, which every lock
 * with a lease or a steal time has. An evicted lock lets a second holder in.
 */
export function evictsLocks(policy: string): boolean {
  return policy !== 'noeviction';
}

/**
 * Reads `maxmemory-policy` once and warns when it can evict locks. CONFIG may be disabled or
 * refused (Memorystore renames or forbids it; ACLs): then it says so at debug level and moves on.
 * Never rejects: it must not fail a lock call.
 */
export async function checkEvictionPolicy(
  calls: ValkeyCalls,
  logger: LockLogger,
): Promise<string | undefined> {
  let reply: unknown;
  try {
    reply = await calls.command('CONFIG', 'GET', 'maxmemory-policy');
  } catch (error) {
    logger.debug('valkey: could not read maxmemory-policy', {
      error: (error as Error)?.message ?? String(error),
    });
    return undefined;
  }
  const policy = Array.isArray(reply) ? reply[1] : undefined;
  if (typeof policy !== 'string') return undefined;
  if (evictsLocks(policy))
    logger.warn(
      `valkey: maxmemory-policy is ${policy}, which can evict WEAK locks under memory pressure (a second holder then gets in); set it to noeviction`,
      {maxmemoryPolicy: policy},
    );
  return policy;
}
