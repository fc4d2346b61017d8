/**
 * cloud-functions-locking/memcached: WEAK locks on memcached. Without a client of your own, a
 * project using it installs `memjs`, which loads on the first WEAK lock call.
 */
export {createMemcachedBackend} from './create-memcached-backend';
export type {MemcachedBackendOptions} from './create-memcached-backend';
export type {MemcacheClient} from './memcache-client';
