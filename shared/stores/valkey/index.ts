/**
 * cloud-functions-locking/valkey: WEAK locks on Valkey (Memorystore for Valkey) or Redis 7.
 * Without a client of your own, a project using it installs `iovalkey`, which loads on the first
 * WEAK lock call.
 */
export {createValkeyBackend} from './create-valkey-backend';
export type {ValkeyBackendOptions} from './create-valkey-backend';
export type {ValkeyClient, ValkeySubscriber} from './valkey-client';
export type {ValkeyLockBackend} from './valkey-backend';
