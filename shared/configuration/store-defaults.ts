/**
 * The names locks are stored under unless configured otherwise. The core owns them, so that it can
 * default a configuration without importing the adapters that use them.
 */

/** Entity kind of STRONG lock entities (on Firestore native mode: their collection): djangae's name. */
export const DEFAULT_ENTITY_KIND = 'DatastoreLock';

/** Prefix of WEAK locks' memcached keys. */
export const DEFAULT_MEMCACHE_KEY_PREFIX = 'lock:';

/** Prefix of WEAK locks' Valkey keys (before their `{lk:...}` hash tag). */
export const DEFAULT_VALKEY_KEY_PREFIX = 'lock:';

/** Where WEAK locks live when no client is given: Valkey when this is set, else memcached. */
export const VALKEY_URL_VARIABLE = 'LOCKS_VALKEY_URL';

/** The server CA bundle (PEM text) of a `rediss://` LOCKS_VALKEY_URL. Unset: the system's CAs. */
export const VALKEY_CA_VARIABLE = 'LOCKS_VALKEY_CA';

/** `iam`: the client authenticates with the runtime account's access token. Unset: `password` (the URL's, if any). */
export const VALKEY_AUTH_VARIABLE = 'LOCKS_VALKEY_AUTH';

/** Deadline of each store call. */
export const DEFAULT_RPC_TIMEOUT_MS = 5000;
