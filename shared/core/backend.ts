import type {EntityData, EntityPath, EntityUpdate} from './fenced-data';
import type {LockKind} from './kinds';
import type {Takeover} from './taking-rules';
import type {WaitingRoomState, WaitingRoomStore} from '../waiting-room/types';

/**
 * The one contract every store implements. Each method is ONE attempt: no waiting, no backoff, no
 * retry. Those live above the backends (see attempts.ts and waiting.ts), so STRONG and WEAK wait
 * and retry the same way. Failures are thrown as BackendCallError; "held by someone else" is a
 * result, never an exception.
 */
export interface LockBackend {
  /**
   * What the backend promises, and so which locks it may serve: a STRONG backend never lets two
   * holders in and gives every grant a `fence` (LockRecord.fence) that strictly increases per
   * identifier; a WEAK one may lose a lock (eviction, restart) and gives no fence. `Lock#fence`'s
   * type follows the kind (see FenceOf).
   */
  readonly kind: LockKind;
  tryAcquire(request: AcquireRequest): Promise<AcquireOutcome>;
  /**
   * Removes the lock only when `token` still holds it. `revision`, when the caller has the one its
   * grant returned, lets a store check ownership without reading the lock first.
   */
  release(
    identifier: string,
    token: string,
    revision?: string,
  ): Promise<ReleaseOutcome>;
  /**
   * Renews the lock while `token` holds it: its last sign of life becomes now, and its lease, if it
   * has one (or `leaseMs` asks for one), runs from now. The fence stays the grant's. `grant`, the
   * lock as its holder last knew it (with its revision), lets a store renew in one conditional
   * write; without it the store reads the lock first.
   */
  renew(request: RenewRequest, grant?: LockRecord): Promise<RenewOutcome>;
  peek(identifier: string): Promise<LockRecord | null>;
  /**
   * Removes abandoned locks (see taking-rules.ts), judged on the store's clock where it reports
   * one; never one re-acquired or renewed since it was found. Stores whose locks expire by
   * themselves (memcached) do not implement it.
   */
  cleanup?(criteria: CleanupCriteria): Promise<number>;
  /**
   * Calls `onChange` when the lock may have become takeable (released, deleted, its lease over, or
   * held without a lease for longer than `stealAfterMs`), for stores that can push changes
   * (Firestore's listeners). A hint only: it never grants anything. While the watch is healthy a
   * waiter polls when told and otherwise only at a slow safety interval; once it is not, with its
   * normal backoff.
   */
  watch?(
    identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch;
  /**
   * The locks held now, oldest grant first, for operators' tools (see listing.ts). Stores that can
   * enumerate their locks implement it; memcached cannot (it has no way to list keys).
   */
  list?(query: ListQuery): Promise<LockRecord[]>;
  /**
   * STRONG stores: one attempt at a fenced write of data in the store's own database and
   * namespace (see fenced-write.ts). Atomically: refuses a fence below the highest that ever wrote
   * the path (STALE_FENCE), answers `duplicate` for a live once-key, else writes the data (or
   * deletes it), the path's highest fence and the once-key in one commit.
   */
  fencedWrite?(request: FencedWriteRequest): Promise<FencedWriteOutcome>;
  /** Deletes once-key records past their expiry (on `now`); resolves how many. */
  removeExpiredOnceKeys?(now: Date): Promise<number>;
  /**
   * STRONG stores: lockedHandler's waiting room (see waiting-room/types.ts). A store that has one
   * also keeps `LockRecord.waiting` through every write of the lock: a takeover inherits the room,
   * a release with messages parked leaves the lock vacant instead of deleting it, and cleanup never
   * deletes a lock with messages parked. Internal: its contract may change in any release, and a
   * backend of one's own needs none (lockedHandler then re-queues).
   * @internal
   */
  readonly waitingRoom?: WaitingRoomStore;
}

export interface FencedWriteRequest {
  readonly path: EntityPath;
  readonly fence: bigint;
  /** What to write, made from the current data; absent for a delete. */
  readonly update: EntityUpdate | undefined;
  readonly excludeFromIndexes: readonly string[];
  readonly once: OnceKeyRecord | undefined;
}

export interface OnceKeyRecord {
  readonly onceKey: string;
  /** Unique per attempt: a duplicate carrying it was this very attempt, applied although its answer was lost. */
  readonly writeId: string;
  readonly expiresAt: Date;
}

export type FencedWriteOutcome =
  | {readonly applied: true; readonly data: EntityData | undefined}
  | {
      readonly applied: false;
      readonly reason: 'duplicate';
      /** The writeId of the write that recorded the once-key. */
      readonly writeId: string;
    };

export interface LockWatch {
  /** The store is pushing this lock's changes: its first state has arrived and the stream has not failed. */
  readonly healthy: boolean;
  stop(): void;
}

export interface ListQuery {
  /** Only identifiers that start with this. */
  readonly prefix?: string;
  /** Only locks granted before this (this host's clock against the holder's). */
  readonly acquiredBefore?: Date;
  /** At most this many. */
  readonly limit: number;
}

export interface CleanupCriteria {
  /** This host's time: which locks to look at (a hint), and the judge where the store reports no clock. */
  readonly now: Date;
  readonly maxAgeMs: number;
}

export interface RenewRequest {
  readonly identifier: string;
  readonly token: string;
  /** A new lease; default: the grant's own. */
  readonly leaseMs?: number;
}

export type RenewOutcome =
  | {readonly renewed: true; readonly record: LockRecord}
  | {readonly renewed: false};

export interface AcquireRequest {
  readonly identifier: string;
  /** Unique per grant; the same across retries of one acquire, so an ambiguous write is recognisable. */
  readonly token: string;
  /** Take over an existing lease-less lock whose holder has had it for longer than this. */
  readonly stealAfterMs?: number;
  /** The grant's lease: live until this long after its last renewal. */
  readonly leaseMs?: number;
}

export type AcquireOutcome =
  /** `takeover` is set when the grant took the lock over from another holder (see taking-rules.ts). */
  | {
      readonly acquired: true;
      readonly record: LockRecord;
      readonly takeover?: Takeover;
    }
  /** `holder` is set when the attempt had to read the current lock anyway (to judge a steal). */
  | {readonly acquired: false; readonly holder?: LockRecord | null};

/**
 * released: this token's lock was removed. not_holder: a lock exists and belongs to another token
 * (left untouched). absent: there was no lock at all.
 */
export type ReleaseOutcome = 'released' | 'not_holder' | 'absent';

export interface LockRecord {
  readonly identifier: string;
  readonly token: string;
  readonly acquiredAt: Date;
  /** The holder's last renewal (its host's time); absent until it renews. */
  readonly renewedAt?: Date | undefined;
  /** The holder's lease, when it has one. */
  readonly leaseMs?: number | undefined;
  /** The steal setting the holder acquired with (cleanup removes the lock once past it). */
  readonly stealAfterMs?: number | undefined;
  /**
   * When the lock becomes takeable, on its holder's clock: the end of its lease, or of its own
   * steal time. The store's clock decides where it reports one; this is for people and queries.
   */
  readonly expiresAt?: Date | undefined;
  /** STRONG only: the store's version of the lock entity. */
  readonly fence?: bigint;
  /**
   * Opaque to everything but the backend: the store's mark of this exact state of the lock, for a
   * release that checks ownership in the same round trip where the mark proves it (the Datastore
   * entity version). Absent where no kept mark is proof (memcached reuses CAS values after a restart).
   */
  readonly revision?: string;
  /**
   * STRONG stores with a waiting room: the messages parked on this lock (see waiting-room/types.ts).
   * @internal
   */
  readonly waiting?: WaitingRoomState | undefined;
}
