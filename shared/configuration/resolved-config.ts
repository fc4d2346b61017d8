import type {Datastore} from '@google-cloud/datastore';
import type {Firestore} from '@google-cloud/firestore';
import type {LockBackend} from '../core/backend';
import type {BackoffPolicy, RetryPolicy} from '../core/backoff';
import type {LockLogger} from '../telemetry/logger';
import type {MemcacheClient} from '../stores/memcached/memcache-client';
import type {ValkeyClient} from '../stores/valkey/valkey-client';
import type {StrongStore} from './strong-store';

/** A LockingConfig checked and completed with its defaults (resolveLockingConfig). */
export interface ResolvedLockingConfig {
  readonly strong: LockBackend | Promise<LockBackend> | undefined;
  readonly weak: LockBackend | Promise<LockBackend> | undefined;
  readonly logger: LockLogger;
  readonly strongStore: StrongStore;
  readonly datastore: Datastore | undefined;
  readonly firestore: Firestore | undefined;
  readonly databaseId: string | undefined;
  readonly namespace: string | undefined;
  readonly entityKind: string;
  readonly memcache: MemcacheClient | undefined;
  readonly memcacheKeyPrefix: string;
  /** Where WEAK locks live when no `weak` backend is given. */
  readonly weakStore: 'memcached' | 'valkey';
  /** WEAK locks' Valkey client, or the URL of the one to build (weakStore `valkey`). */
  readonly valkey: ValkeyClient | string | undefined;
  readonly rpcTimeoutMs: number;
  readonly waitBackoff: BackoffPolicy;
  readonly retry: RetryPolicy;
  readonly telemetry: {readonly recordIdentifiers: boolean};
  readonly onceKeyRetentionMs: number;
}
