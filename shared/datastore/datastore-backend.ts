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
} from '../backend';
import {BackendCallError} from '../errors';
import {LockKind} from '../kinds';
import {classifyDatastoreError, grpcCode, GrpcStatus} from './datastore-errors';
import type {
  DatastoreRpc,
  FoundEntity,
  KeyProto,
  MutationOutcome,
  MutationProto,
  TransactionId,
} from './datastore-rpc';
import {
  isGoogleEndpoint,
  PreconditionSupport,
  probeVersionPreconditions,
} from './precondition-probe';
import {listDatastoreLocks} from './list-locks';
import {DatastoreFencedWriter, fencedKey} from './fenced-write';
import {decodeLock, encodeLock, lockKey, type LockFields} from './lock-entity';
import {grantRecord, renewedRecord} from '../grant-records';
import {
  abandoned,
  sinceLastSignMs,
  takeoverKindOf,
  takeoverOf,
} from '../taking-rules';

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
 */
export class DatastoreLockBackend implements LockBackend {
  readonly kind = LockKind.STRONG;
  private cleanupTransactionSize = CLEANUP_PAGE;
  /** Whether this store honours version preconditions; decides how a release checks ownership. */
  readonly preconditions: PreconditionSupport;
  readonly #fenced: DatastoreFencedWriter;

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
      !takeoverOf(holder, sinceLastSignMs(found, holder), request.stealAfterMs)
    ) {
      return {acquired: false, holder};
    }
    const outcome = await this.takeOver(key, holder, request);
    return outcome.acquired
      ? {...outcome, takeover: takeoverKindOf(holder)}
      : outcome;
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
    if (revision !== undefined && (await this.preconditions.honoured())) {
      // One commit: the delete applies only while the entity is still at our grant's version, and
      // any later write to the lock (a steal, a cleanup and re-acquire) gave it a higher one.
      let result: MutationOutcome | undefined;
      try {
        [result] = await this.rpc.commit(undefined, [
          {delete: key, baseVersion: revision},
        ]);
      } catch (error) {
        // A version above any the store has (it lost its data: an emulator restarted) is refused
        // as INVALID_ARGUMENT; the transaction below tells what the lock's state really is.
        if (grpcCode(error) !== GrpcStatus.INVALID_ARGUMENT)
          throw classifyDatastoreError(error, {
            write: true,
            what: 'release (delete)',
          });
      }
      if (result && !result.conflict) return 'released';
      // The lock changed since our grant: find out whose it is now, the careful way.
    }
    return this.inTransaction<ReleaseOutcome>('release', async transaction => {
      const current = await this.read(key, transaction);
      if (!current) return {outcome: 'absent'};
      if (current.token !== token) return {outcome: 'not_holder'};
      return {mutations: [{delete: key}], onCommit: () => 'released'};
    });
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    return this.read(await this.keyOf(identifier));
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
   * Takes over a lock found takeable (an expired lease, or stale for a caller that may steal). The
   * transaction re-reads it so that only one taker wins, and only from the holder it judged, still
   * takeable (it may have renewed since); a lock released meanwhile is simply taken.
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
          (current.token !== judged.token ||
            !takeoverOf(
              current,
              sinceLastSignMs(found, current),
              request.stealAfterMs,
            ))
        ) {
          return {outcome: {acquired: false, holder: current}};
        }
        const fields = grantRecord(request);
        return {
          mutations: [{upsert: encodeLock(key, fields)}],
          onCommit: ([fence]) => ({
            acquired: true,
            record: recordOf(fields, fence as bigint, fence as bigint),
          }),
        };
      },
    );
  }

  /**
   * Runs `body` in a read-write transaction begun explicitly, commits the mutations it asks for,
   * and always ends the transaction: Firestore in Datastore mode holds read locks until commit or
   * rollback, so an abandoned transaction would stall every other writer of the lock.
   */
  private async inTransaction<T>(
    what: string,
    body: (transaction: TransactionId) => Promise<TransactionStep<T>>,
  ): Promise<T> {
    let transaction: TransactionId;
    try {
      transaction = await this.rpc.beginTransaction();
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: false,
        what: `${what} (begin transaction)`,
      });
    }
    let committing = false;
    try {
      const step = await body(transaction);
      if ('outcome' in step) return step.outcome;
      committing = true;
      try {
        return step.onCommit(
          (await this.rpc.commit(transaction, step.mutations)).map(
            result => result.version,
          ),
        );
      } catch (error) {
        throw classifyDatastoreError(error, {
          write: true,
          what: `${what} (commit)`,
        });
      }
    } finally {
      if (!committing)
        await this.rpc.rollback(transaction).catch(() => undefined);
    }
  }

  private async lookupAll(
    keys: KeyProto[],
    transaction?: TransactionId,
  ): Promise<FoundEntity[]> {
    try {
      return await this.rpc.lookupAll(keys, transaction);
    } catch (error) {
      throw classifyDatastoreError(error, {write: false, what: 'lookup'});
    }
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

  private async lookup(
    key: KeyProto,
    transaction?: TransactionId,
  ): Promise<FoundEntity | null> {
    try {
      return await this.rpc.lookup(key, transaction);
    } catch (error) {
      throw classifyDatastoreError(error, {write: false, what: 'lookup'});
    }
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

/** What a transaction body decides: an outcome without writing, or mutations to commit. */
type TransactionStep<T> =
  | {readonly outcome: T}
  | {
      readonly mutations: MutationProto[];
      readonly onCommit: (versions: bigint[]) => T;
    };

const CLEANUP_PAGE = 500;
const LEGACY_TRANSACTION_GROUPS = 25;

function isAbandoned(found: FoundEntity, criteria: CleanupCriteria): boolean {
  const lock = decodeLock(found);
  return abandoned(lock, sinceLastSignMs(found, lock, criteria.now), criteria);
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
