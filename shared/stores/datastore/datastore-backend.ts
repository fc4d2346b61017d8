import type {
  AcquireOutcome,
  AcquireRequest,
  CleanupCriteria,
  FencedWriteOutcome,
  FencedWriteRequest,
  ListQuery,
  LockBackend,
  LockRecord,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../core/backend';
import {BackendCallError} from '../../core/errors';
import {LockKind} from '../../core/kinds';
import {classifyDatastoreError, grpcCode, GrpcStatus} from './datastore-errors';
import type {
  DatastoreRpc,
  FoundEntity,
  KeyProto,
  TransactionId,
} from './datastore-rpc';
import {deleteAtVersion} from './delete-at-version';
import {
  isGoogleEndpoint,
  PreconditionSupport,
  probeVersionPreconditions,
} from './precondition-probe';
import {listDatastoreLocks} from './list-locks';
import {DatastoreFencedWriter, fencedKey} from './fenced-write';
import {
  decodeLock,
  encodeLock,
  lockKey,
  storeTimesOf,
  type LockFields,
} from './lock-entity';
import {
  inTransaction,
  lookupAll,
  lookupOne,
  type TransactionStep,
} from './transaction';
import {DatastoreWaitingRoom} from './waiting-room';
import {
  hasParked,
  inheritedRoom,
  isVacant,
  vacated,
} from '../../waiting-room/state';
import {grantRecord, renewedRecord} from '../common/grant-records';
import {
  abandoned,
  sinceLastSignMs,
  takeoverKindOf,
  takeoverOf,
} from '../../core/taking-rules';

export interface DatastoreBackendSettings {
  readonly entityKind: string;
  readonly namespace: string | undefined;
}

/**
 * STRONG locks on Cloud Datastore / Firestore in Datastore mode.
 *
 * Round trips: an uncontended acquire is one non-transactional insert, which the store refuses
 * with ALREADY_EXISTS while the lock exists. A held lock costs one more lookup, to judge whether
 * it may be taken (an expired lease, or a stale lock and a caller that may steal); taking it over
 * is a transaction (begin, lookup, commit). A release is one delete conditioned on the grant's
 * version where the store honours that, else a transaction that deletes only while the token still
 * matches; a renewal is the same with an update.
 *
 * The fence is the entity version the store assigns on each write. Datastore documents it as
 * strictly greater than the version of any previous entity at that key, deleted ones included,
 * so it grows across release and re-acquire without a counter entity.
 *
 * lockedHandler's waiting room (waiting-room.ts) lives in the lock's entity group. Every write of
 * the lock keeps its room: a takeover inherits it, a release with messages parked leaves the lock
 * vacant (token '', takeable by anyone) instead of deleting it, and cleanup never deletes it.
 */
export class DatastoreLockBackend implements LockBackend {
  readonly kind = LockKind.STRONG;
  private cleanupTransactionSize = CLEANUP_PAGE;
  /** Whether this store honours version preconditions; decides how a release checks ownership. */
  readonly preconditions: PreconditionSupport;
  readonly #fenced: DatastoreFencedWriter;
  readonly waitingRoom: DatastoreWaitingRoom;

  constructor(
    readonly rpc: DatastoreRpc,
    private readonly settings: DatastoreBackendSettings,
  ) {
    this.preconditions = new PreconditionSupport(
      async () =>
        probeVersionPreconditions(
          this.rpc,
          await this.partition(),
          this.settings.entityKind,
        ),
      isGoogleEndpoint(rpc.endpoint()) ? true : undefined,
    );
    this.#fenced = new DatastoreFencedWriter(rpc);
    this.waitingRoom = new DatastoreWaitingRoom(rpc, {
      entityKind: settings.entityKind,
      partition: () => this.partition(),
      preconditions: this.preconditions,
    });
  }

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const key = await this.keyOf(request.identifier);
    const fields = grantRecord(request);
    try {
      const fence = await this.rpc.insert(encodeLock(key, fields));
      this.preconditions.probeSoon();
      return {acquired: true, record: recordOf(fields, fence, fence)};
    } catch (error) {
      if (grpcCode(error) !== GrpcStatus.ALREADY_EXISTS)
        throw classifyDatastoreError(error, {write: true, what: 'insert'});
    }
    const found = await this.lookup(key);
    const holder = found ? decodeLock(found) : null;
    if (
      !found ||
      !holder ||
      holder.token === request.token ||
      !takeable(found, holder, request.stealAfterMs)
    ) {
      return {acquired: false, holder};
    }
    return this.takeOver(key, holder, request);
  }

  async renew(
    request: RenewRequest,
    grant?: LockRecord,
  ): Promise<RenewOutcome> {
    const key = await this.keyOf(request.identifier);
    if (
      grant?.revision !== undefined &&
      grant.token === request.token &&
      (await this.preconditions.honoured())
    ) {
      // One commit: the update applies only while the entity is still at the version the holder
      // last wrote; any other write since (a takeover, a cleanup and re-acquire) gave it a higher one.
      const fields = renewedRecord(grant, request.leaseMs);
      try {
        const [result] = await this.rpc.commit(undefined, [
          {update: encodeLock(key, fields), baseVersion: grant.revision},
        ]);
        if (result && !result.conflict)
          return {
            renewed: true,
            record: recordOf(fields, grant.fence as bigint, result.version),
          };
      } catch (error) {
        if (grpcCode(error) === GrpcStatus.NOT_FOUND) return {renewed: false};
        if (grpcCode(error) !== GrpcStatus.INVALID_ARGUMENT)
          throw classifyDatastoreError(error, {
            write: true,
            what: 'renew (update)',
          });
      }
      // The lock changed since the holder's last write (perhaps its own renewal whose answer was lost).
    }
    return this.inTransaction<RenewOutcome>('renew', async transaction => {
      const current = await this.read(key, transaction);
      if (!current || current.token !== request.token)
        return {outcome: {renewed: false}};
      const fields = renewedRecord(current, request.leaseMs);
      return {
        mutations: [{update: encodeLock(key, fields)}],
        onCommit: ([version]) => ({
          renewed: true,
          record: recordOf(fields, current.fence as bigint, version as bigint),
        }),
      };
    });
  }

  async release(
    identifier: string,
    token: string,
    revision?: string,
  ): Promise<ReleaseOutcome> {
    const key = await this.keyOf(identifier);
    // One commit where the store honours versions: a park since our grant changed the version too.
    if (
      revision !== undefined &&
      (await this.preconditions.honoured()) &&
      (await deleteAtVersion(this.rpc, key, revision, 'release (delete)'))
    )
      return 'released';
    // The lock changed since our grant (or no version to go by): find out whose it is now.
    return this.inTransaction<ReleaseOutcome>('release', async transaction => {
      const current = await this.read(key, transaction);
      if (!current) return {outcome: 'absent'};
      if (current.token !== token) return {outcome: 'not_holder'};
      // Deleting the lock would strand its parked messages: leave it vacant, the room kept.
      return {
        mutations: [
          hasParked(current)
            ? {upsert: encodeLock(key, vacated(current))}
            : {delete: key},
        ],
        onCommit: () => 'released',
      };
    });
  }

  /** The lock's holder; a vacant lock (messages parked, no holder) has none. */
  async peek(identifier: string): Promise<LockRecord | null> {
    const record = await this.read(await this.keyOf(identifier));
    return record && !isVacant(record) ? record : null;
  }

  list(query: ListQuery): Promise<LockRecord[]> {
    return listDatastoreLocks(
      this.rpc,
      this.partition(),
      this.settings.entityKind,
      query,
    );
  }

  /**
   * Finds candidate locks with two keys-only queries on the holders' own times (acquired before
   * `now - maxAgeMs`; takeable by `now`), then deletes in transactions that re-read each lock and
   * judge it on the store's clock where the store reports one, so a lock renewed, re-acquired or
   * simply younger by the store's clock than by ours stays. Pages of at most 500 keys.
   */
  async cleanup(criteria: CleanupCriteria): Promise<number> {
    const partition = await this.partition();
    let deleted = 0;
    for (const [property, before] of [
      ['acquiredAt', new Date(criteria.now.getTime() - criteria.maxAgeMs)],
      ['expiresAt', criteria.now],
    ] as const) {
      let cursor: Uint8Array | string | undefined;
      for (;;) {
        const page = await this.query(() =>
          this.rpc.keysBefore(
            partition,
            this.settings.entityKind,
            property,
            before,
            CLEANUP_PAGE,
            cursor,
          ),
        );
        deleted += await this.deleteAbandoned(page.keys, criteria);
        // The legacy emulator reports MORE_RESULTS_AFTER_LIMIT even on an empty last page.
        if (!page.more || !page.endCursor || page.keys.length === 0) break;
        cursor = page.endCursor;
      }
    }
    return deleted;
  }

  /**
   * Judges each chunk on a plain read and writes only to the locks found past their time. A
   * transaction over every candidate would read live locks too (a leased lock is a candidate of the
   * acquiredAt query as soon as it is older than maxAgeMs) and contend with their holders'
   * renewals: Firestore in Datastore mode makes a renewal wait for the transaction, then aborts it
   * ("Transaction lock timeout"); the legacy emulator aborts one of two transactions on a key. So
   * back-to-back cleanups made renewals of short leases fail until the leases ran out.
   */
  private async deleteAbandoned(
    keys: KeyProto[],
    criteria: CleanupCriteria,
  ): Promise<number> {
    let deleted = 0;
    for (
      let start = 0;
      start < keys.length;
      start += this.cleanupTransactionSize
    ) {
      const chunk = keys.slice(start, start + this.cleanupTransactionSize);
      try {
        const judged = (await this.lookupAll(chunk)).filter(found =>
          isAbandoned(found, criteria),
        );
        if (judged.length > 0)
          deleted += await this.deleteUnchanged(judged, criteria);
      } catch (error) {
        // Legacy Datastore allows 25 entity groups (here, locks) per transaction; Firestore mode 500.
        if (
          chunk.length > LEGACY_TRANSACTION_GROUPS &&
          isTooManyEntityGroups(error)
        ) {
          this.cleanupTransactionSize = LEGACY_TRANSACTION_GROUPS;
          return (
            deleted + (await this.deleteAbandoned(keys.slice(start), criteria))
          );
        }
        // Contention means another cleanup, or a holder, is working on these locks right now:
        // leave them to it (or to the next run) rather than fail the whole cleanup.
        if (error instanceof BackendCallError && error.contention) continue;
        throw error;
      }
    }
    return deleted;
  }

  /** The data entity at `path` in the locks' partition (see fenced-write.ts). */
  async fencedWrite(request: FencedWriteRequest): Promise<FencedWriteOutcome> {
    const key = fencedKey(
      await this.partition(),
      request.path,
      this.settings.entityKind,
    );
    return this.#fenced.write(key, request);
  }

  async removeExpiredOnceKeys(now: Date): Promise<number> {
    return this.#fenced.removeExpiredOnceKeys(await this.partition(), now);
  }

  /**
   * Deletes the locks judged abandoned unless written since. Where the store honours version
   * preconditions, one commit of deletes each conditioned on the version judged, with no
   * transaction; elsewhere a transaction that re-reads and judges them again. Either way only
   * locks already past their time are written to, and their holders no longer renew them.
   */
  private async deleteUnchanged(
    judged: FoundEntity[],
    criteria: CleanupCriteria,
  ): Promise<number> {
    // A found entity always carries its key.
    const keys = judged.map(found => found.entity.key!);
    if (await this.preconditions.honoured()) {
      try {
        const results = await this.rpc.commit(
          undefined,
          judged.map(found => ({
            delete: found.entity.key!,
            baseVersion: found.version.toString(),
          })),
        );
        return results.filter(result => !result.conflict).length;
      } catch (error) {
        throw classifyDatastoreError(error, {
          write: true,
          what: 'cleanup (delete)',
        });
      }
    }
    return this.inTransaction<number>('cleanup', async transaction => {
      const still = (await this.lookupAll(keys, transaction)).filter(found =>
        isAbandoned(found, criteria),
      );
      if (still.length === 0) return {outcome: 0};
      return {
        mutations: still.map(found => ({delete: found.entity.key!})),
        onCommit: () => still.length,
      };
    });
  }

  /**
   * Takes over a lock found takeable (an expired lease, stale for a caller that may steal, or
   * vacant). The transaction re-reads it so that only one taker wins, and only from the holder it
   * judged, still takeable (it may have renewed since); a lock released meanwhile (deleted, or left
   * vacant) is simply taken. The new grant inherits the lock's waiting room, if any.
   */
  private async takeOver(
    key: KeyProto,
    judged: LockRecord,
    request: AcquireRequest,
  ): Promise<AcquireOutcome> {
    return this.inTransaction<AcquireOutcome>(
      'take over',
      async transaction => {
        const found = await this.lookup(key, transaction);
        const current = found ? decodeLock(found) : null;
        if (
          found &&
          current &&
          !isVacant(current) &&
          (current.token !== judged.token ||
            !takeable(found, current, request.stealAfterMs))
        ) {
          return {outcome: {acquired: false, holder: current}};
        }
        const waiting = inheritedRoom(current?.waiting);
        const fields: LockFields = {
          ...grantRecord(request),
          ...(waiting ? {waiting} : {}),
        };
        // Taking a vacant lock takes it from nobody: no takeover to report.
        const takeover =
          current && !isVacant(current) ? takeoverKindOf(current) : undefined;
        return {
          mutations: [{upsert: encodeLock(key, fields)}],
          onCommit: ([fence]) => ({
            acquired: true,
            record: recordOf(fields, fence as bigint, fence as bigint),
            ...(takeover ? {takeover} : {}),
          }),
        };
      },
    );
  }

  private inTransaction<T>(
    what: string,
    body: (transaction: TransactionId) => Promise<TransactionStep<T>>,
  ): Promise<T> {
    return inTransaction(this.rpc, what, body);
  }

  private lookupAll(
    keys: KeyProto[],
    transaction?: TransactionId,
  ): Promise<FoundEntity[]> {
    return lookupAll(this.rpc, keys, transaction);
  }

  private async query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyDatastoreError(error, {write: false, what: 'query'});
    }
  }

  private async read(
    key: KeyProto,
    transaction?: TransactionId,
  ): Promise<LockRecord | null> {
    const found = await this.lookup(key, transaction);
    return found ? decodeLock(found) : null;
  }

  private lookup(
    key: KeyProto,
    transaction?: TransactionId,
  ): Promise<FoundEntity | null> {
    return lookupOne(this.rpc, key, transaction);
  }

  private async keyOf(identifier: string): Promise<KeyProto> {
    return lockKey(
      await this.partition(),
      this.settings.entityKind,
      identifier,
    );
  }

  private async partition(): Promise<NonNullable<KeyProto['partitionId']>> {
    try {
      return await this.rpc.partition(this.settings.namespace);
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: false,
        what: 'project lookup',
      });
    }
  }
}

const CLEANUP_PAGE = 500;
const LEGACY_TRANSACTION_GROUPS = 25;

/** Never a lock with messages parked: the waiting room's sweep hands those on instead. */
function isAbandoned(found: FoundEntity, criteria: CleanupCriteria): boolean {
  const lock = decodeLock(found);
  return (
    !hasParked(lock) &&
    abandoned(
      lock,
      sinceLastSignMs(storeTimesOf(found), lock, criteria.now),
      criteria,
    )
  );
}

/** Whether an acquire may take `holder`'s lock: vacant (nobody holds it), or by taking-rules.ts. */
function takeable(
  found: FoundEntity,
  holder: LockRecord,
  stealAfterMs: number | undefined,
): boolean {
  return (
    isVacant(holder) ||
    takeoverOf(
      holder,
      sinceLastSignMs(storeTimesOf(found), holder),
      stealAfterMs,
    ) !== null
  );
}

function isTooManyEntityGroups(error: unknown): boolean {
  const cause = (error as {cause?: unknown})?.cause;
  return (
    grpcCode(cause) === GrpcStatus.INVALID_ARGUMENT &&
    /too many entity groups/i.test(String((cause as Error)?.message))
  );
}

function recordOf(
  fields: LockFields,
  fence: bigint,
  version: bigint,
): LockRecord {
  return {...fields, fence, revision: version.toString()};
}
