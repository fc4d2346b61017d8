import {invalidArgument} from './invalid-argument';

/**
 * A WEAK lock's key is the prefix and 64 hex characters; memcached keys are at most 250 bytes,
 * printable, without spaces.
 */
const KEY_PREFIX = /^[\x21-\x7e]{0,180}$/;

export function memcacheKeyPrefixOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || !KEY_PREFIX.test(value))
    throw invalidArgument(
      `${name} must be at most 180 printable ASCII characters without spaces`,
    );
  return value;
}

/**
 * memjs's MEMCACHE_SERVERS: host:port, comma-separated. A user:password@ prefix is refused: it
 * would put a secret in a function's settings (memjs reads MEMCACHE_USERNAME/PASSWORD instead).
 */
export function isMemcacheServerList(value: string): boolean {
  return value
    .split(',')
    .every(server => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(server));
}

export const MEMCACHE_SERVERS_RULE =
  'a list of HOST:PORT (like 10.0.0.3:11211,10.0.0.4:11211)';
