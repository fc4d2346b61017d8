import type {
  DocumentReference,
  DocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import type {
  AcquireOutcome,
  AcquireRequest,
  CleanupCriteria,
  FencedWriteOutcome,
  FencedWriteRequest,
  ListQuery,
  LockBackend,
  LockRecord,
  LockWatch,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../core/backend';
import {lockKeyName} from '../common/lock-key-name';
import {BackendCallError} from '../../core/errors';
import {grantRecord, renewedRecord} from '../common/grant-records';
import {LockKind} from '../../core/kinds';
import {
  abandoned,
  sinceLastSignMs,
  takeoverKindOf,
  takeoverOf,
} from '../../core/taking-rules';
import {
  hasParked,
  inheritedRoom,
  isVacant,
  vacated,
} from '../../waiting-room/state';
import type {FirestoreCalls} from './firestore-calls';
import {
  classifyFirestoreError,
  isAlreadyExists,
  isFailedPrecondition,
} from './firestore-errors';
import {deleteUnchanged} from './delete-unchanged';
import {fencedRef, FirestoreFencedWriter} from './fenced-write';
import {listFirestoreLocks} from './list-locks';
import {LockWatchers} from './lock-watchers';
import {
  decodeLock,
  encodeLock,
  encodeLockReplacing,
  microsOf,
  revisionOf,
  storeTimesOf,
  timeOfRevision,
  type LockFields,
} from './lock-document';
import {FirestoreWaitingRoom} from './waiting-room';

export interface FirestoreBackendSettings {
  readonly collection: string;
  /** Keeps locks of one namespace apart, under `namespaces/{namespace}/`. */
  readonly namespace: string | undefined;
  /** The client module's FieldValue.delete() and Timestamp (loaded lazily, so passed in). */
  readonly deleteField: unknown;
  readonly timestamp: (seconds: number, nanoseconds: number) => Timestamp;
}

/**
 * STRONG locks on Firestore in native mode, with no transactions at all: every write is one commit
 * with a precondition, which Firestore honours (the native-mode emulator too: measured, see
 * test/contract/firestore-native.test.ts).
 *
 * - An uncontended acquire is one create (an exists-false precondition): refused with
 *   ALREADY_EXISTS while the lock exists. A held lock costs one more get, to judge a takeover (an
 *   expired lease, or a stale lock and a caller that may steal); taking it over is one update
 *   conditioned on the update time the get saw, so only one taker wins, and only from that holder.
 * - A release is one delete conditioned on the grant's update time (its revision); a renewal is one
 *   update conditioned the same way. Only when that fails (the lock changed) is the lock read to
 *   say whose it is.
 *
 * The fence is the update time of the grant's commit, in microseconds. Firestore orders commits
 * that touch one document by their commit times, a delete included, so a later write of a lock,
 * and a grant after the lock was deleted and re-created, always gets a greater time.
 */
export class FirestoreLockBackend implements LockBackend {
  readonly kind = LockKind.STRONG;
  readonly watchers = new LockWatchers(identifier => this.refOf(identifier));
  readonly waitingRoom: FirestoreWaitingRoom;
  readonly #fenced: FirestoreFencedWriter;

  constructor(
    readonly calls: FirestoreCalls,
    private readonly settings: FirestoreBackendSettings,
  ) {
    this.#fenced = new FirestoreFencedWriter(calls);
    this.waitingRoom = new FirestoreWaitingRoom(calls, {
      lockRef: identifier => this.refOf(identifier),
      locks: () => this.calls.firestore.collection(this.collectionPath()),
      deleteField: settings.deleteField,
    });
  }

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const ref = this.refOf(request.identifier);
    const created = await this.create(ref, request);
    if (created) return created;
    const found = await this.get(ref);
    const holder = decodeLock(found);
    if (!holder) return (await this.create(ref, request)) ?? {acquired: false};
    // A vacant lock (released with messages parked) has no holder: anyone takes it.
    const vacant = isVacant(holder);
    if (
      !vacant &&
      (holder.token === request.token ||
        !takeoverOf(
          holder,
          sinceLastSignMs(storeTimesOf(found), holder),
          request.stealAfterMs,
        ))
    ) {
      return {acquired: false, holder};
    }
    // Only from the holder judged, still as it was: any write since (a renewal, another taker, a
    // park) moved its update time. The new grant keeps the room, in order (see inheritedRoom).
    const room = inheritedRoom(holder.waiting);
    const fields: LockFields = {
      ...grantRecord(request),
      ...(room ? {waiting: room} : {}),
    };
    try {
      const result = await this.calls.update(ref, this.replacing(fields), {
        lastUpdateTime: found.updateTime as Timestamp,
      });
      return {
        acquired: true,
        record: recordOf(fields, result.writeTime),
        ...(vacant ? {} : {takeover: takeoverKindOf(holder)}),
      };
    } catch (error) {
      if (!isFailedPrecondition(error))
        throw classifyFirestoreError(error, {
          write: true,
          what: 'take over (update)',
        });
    }
    // Someone else got there first, or the holder released it meanwhile (then it is free to create).
    return (await this.create(ref, request)) ?? {acquired: false};
  }

  async renew(
    request: RenewRequest,
    grant?: LockRecord,
  ): Promise<RenewOutcome> {
    const ref = this.refOf(request.identifier);
    let known = grant?.token === request.token ? grant : undefined;
    // First on what the holder knows, then on what the store says now: the holder's own last
    // renewal may have landed although its answer was lost, and every message parked behind it
    // writes the lock (the room's bookkeeping, which the renewal keeps as it is now).
    for (let attempt = 0; attempt < RENEW_WRITES; attempt++) {
      let lastUpdateTime =
        known?.revision === undefined ? undefined : this.timeOf(known.revision);
      if (!known || !lastUpdateTime) {
        known = decodeLock(await this.get(ref)) ?? undefined;
        if (!known || known.token !== request.token) return {renewed: false};
        lastUpdateTime = this.timeOf(known.revision as string);
        if (!lastUpdateTime) return {renewed: false};
      }
      const fields = renewedRecord(known, request.leaseMs);
      try {
        const result = await this.calls.update(ref, this.replacing(fields), {
          lastUpdateTime,
        });
        return {
          renewed: true,
          record: {...fields, revision: revisionOf(result.writeTime)},
        };
      } catch (error) {
        if (!isFailedPrecondition(error))
          throw classifyFirestoreError(error, {
            write: true,
            what: 'renew (update)',
          });
      }
      known = undefined;
    }
    // Still ours at the last read, but written again before each update: busy, not lost.
    throw new BackendCallError(
      'Firestore renew kept racing other writes of the same lock',
      {retryable: true, mayHaveApplied: false, contention: true},
      {kind: LockKind.STRONG},
    );
  }

  async release(
    identifier: string,
    token: string,
    revision?: string,
  ): Promise<ReleaseOutcome> {
    const ref = this.refOf(identifier);
    let lastUpdateTime =
      revision === undefined ? undefined : this.timeOf(revision);
    for (let attempt = 0; attempt < 2; attempt++) {
      // With messages parked, deleting the lock would strand them: it is left vacant, the room kept.
      let vacatedLock: LockFields | undefined;
      if (!lastUpdateTime) {
        const current = decodeLock(await this.get(ref));
        if (!current || isVacant(current)) return 'absent';
        if (current.token !== token) return 'not_holder';
        lastUpdateTime = this.timeOf(current.revision as string);
        if (hasParked(current)) vacatedLock = vacated(current);
      }
      try {
        if (vacatedLock && lastUpdateTime)
          await this.calls.update(ref, this.replacing(vacatedLock), {
            lastUpdateTime,
          });
        else
          await this.calls.delete(
            ref,
            lastUpdateTime ? {lastUpdateTime} : undefined,
          );
        return 'released';
      } catch (error) {
        if (!isFailedPrecondition(error))
          throw classifyFirestoreError(error, {
            write: true,
            what: vacatedLock ? 'release (vacate)' : 'release (delete)',
          });
      }
      // The lock changed since that update time (or is gone): find out whose it is now.
      lastUpdateTime = undefined;
    }
    // Our own lock changed twice between a read and a write (a renewal of ours, or messages
    // parking behind us): one more read decides, and the retry layer above may try again.
    const current = decodeLock(await this.get(ref));
    if (!current || isVacant(current)) return 'absent';
    if (current.token !== token) return 'not_holder';
    throw new BackendCallError(
      'Firestore release kept racing other writes of the same lock (renewals, parks)',
      {retryable: true, mayHaveApplied: false, contention: true},
      {kind: LockKind.STRONG},
    );
  }

  /** Waiters in this process share one listener on the lock's document (see lock-watchers.ts). */
  watch(
    identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch {
    return this.watchers.watch(identifier, onChange, stealAfterMs);
  }

  /** A vacant lock has no holder: null, as a free one (operators see its room through waitingRoom.parked). */
  async peek(identifier: string): Promise<LockRecord | null> {
    const lock = decodeLock(await this.get(this.refOf(identifier)));
    return lock && !isVacant(lock) ? lock : null;
  }

  list(query: ListQuery): Promise<LockRecord[]> {
    return listFirestoreLocks(this.calls, this.refOf('').parent, query);
  }

  /**
   * Two queries on the holders' own times (acquired before `now - maxAgeMs`; takeable by `now`)
   * find candidates; each is judged on the store's clock (its last sign of life against the
   * query's read time) and deleted on the update time it was judged at, so a lock renewed or
   * re-acquired since stays. A lock with messages parked is never deleted: it would strand them
   * (the waiting room's sweep hands a vacant or expired one to its head).
   */
  async cleanup(criteria: CleanupCriteria): Promise<number> {
    const collection = this.calls.firestore.collection(this.collectionPath());
    let deleted = 0;
    for (const [field, before] of [
      ['acquiredAt', new Date(criteria.now.getTime() - criteria.maxAgeMs)],
      ['expiresAt', criteria.now],
    ] as const) {
      let after: DocumentSnapshot | undefined;
      for (;;) {
        // Pages follow a cursor, so candidates behind a full page of live locks are still seen.
        const query = collection
          .where(field, '<', before)
          .orderBy(field)
          .limit(CLEANUP_PAGE);
        let page;
        try {
          page = await this.calls.query(
            after ? query.startAfter(after) : query,
          );
        } catch (error) {
          throw classifyFirestoreError(error, {write: false, what: 'query'});
        }
        const judged = page.docs.filter(found => {
          const lock = decodeLock(found);
          return (
            lock !== null &&
            !hasParked(lock) &&
            abandoned(
              lock,
              sinceLastSignMs(storeTimesOf(found), lock, criteria.now),
              criteria,
            )
          );
        });
        const removed = await Promise.all(
          judged.map(found =>
            deleteUnchanged(this.calls, found, 'cleanup (delete)'),
          ),
        );
        deleted += removed.filter(Boolean).length;
        if (page.size < CLEANUP_PAGE) break;
        after = page.docs[page.docs.length - 1];
      }
    }
    return deleted;
  }

  /** The document at `path` in the locks' namespace (see fenced-write.ts). */
  fencedWrite(request: FencedWriteRequest): Promise<FencedWriteOutcome> {
    const {namespace, collection} = this.settings;
    const ref = fencedRef(
      this.calls.firestore,
      namespace ? `namespaces/${namespace}/` : '',
      request.path,
      collection,
    );
    return this.#fenced.write(ref, request);
  }

  removeExpiredOnceKeys(now: Date): Promise<number> {
    return this.#fenced.removeExpiredOnceKeys(now);
  }

  /** One create; `undefined` when the lock exists. */
  private async create(
    ref: DocumentReference,
    request: AcquireRequest,
  ): Promise<AcquireOutcome | undefined> {
    const fields = grantRecord(request);
    try {
      const result = await this.calls.create(ref, encodeLock(fields));
      return {acquired: true, record: recordOf(fields, result.writeTime)};
    } catch (error) {
      if (isAlreadyExists(error)) return undefined;
      throw classifyFirestoreError(error, {write: true, what: 'create'});
    }
  }

  private async get(ref: DocumentReference): Promise<DocumentSnapshot> {
    try {
      return await this.calls.get(ref);
    } catch (error) {
      throw classifyFirestoreError(error, {write: false, what: 'get'});
    }
  }

  private timeOf(revision: string): Timestamp | undefined {
    const time = timeOfRevision(revision);
    return time && this.settings.timestamp(time.seconds, time.nanoseconds);
  }

  private replacing(fields: LockFields) {
    return encodeLockReplacing(fields, this.settings.deleteField);
  }

  refOf(identifier: string): DocumentReference {
    return this.calls.firestore
      .collection(this.collectionPath())
      .doc(lockKeyName(identifier));
  }

  private collectionPath(): string {
    const {namespace, collection} = this.settings;
    return namespace ? `namespaces/${namespace}/${collection}` : collection;
  }
}

const CLEANUP_PAGE = 500;
/** A renewal's conditioned updates before a lock busy with parks is left to the caller's retries. */
const RENEW_WRITES = 3;

/** A grant: its fence and revision both come from its commit's time. */
function recordOf(fields: LockFields, writeTime: Timestamp): LockRecord {
  return {
    ...fields,
    fence: microsOf(writeTime),
    revision: revisionOf(writeTime),
  };
}
