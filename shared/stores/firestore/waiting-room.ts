import {FieldPath, Timestamp} from '@google-cloud/firestore';
import type {
  CollectionReference,
  DocumentReference,
  DocumentSnapshot,
} from '@google-cloud/firestore';
import {BackendCallError} from '../../core/errors';
import {roomGrantRecord} from '../common/grant-records';
import {LockKind} from '../../core/kinds';
import {depthOf, hasParked, inheritedRoom} from '../../waiting-room/state';
import type {
  ClaimOutcome,
  ClaimRequest,
  HandOffGrant,
  HandOffOutcome,
  HandOffRequest,
  ParkedRecord,
  ParkOutcome,
  ParkRequest,
  SweepRequest,
  WaitingRoomStore,
} from '../../waiting-room/types';
import type {LockRecord} from '../../core/backend';
import {commitConditioned, CONFLICT, onFreshReads} from './conditioned-commit';
import type {FirestoreCalls} from './firestore-calls';
import {classifyFirestoreError, isFailedPrecondition} from './firestore-errors';
import {
  decodeLock,
  encodeLockReplacing,
  LAST_PARK_ID,
  microsOf,
  revisionOf,
  signedAtOf,
  timeOfRevision,
  type LockEncoding,
  type LockFields,
} from './lock-document';
import {
  decodeParked,
  encodeParked,
  PARKED_COLLECTION,
  parkedRecordOf,
  parkedRefOf,
} from './parked-document';
import {takeableByAnyone} from './takeable';

export interface WaitingRoomPlaces {
  lockRef(identifier: string): DocumentReference;
  /** The locks' collection, for the sweep's query. */
  locks(): CollectionReference;
  /** The client module's FieldValue.delete(). */
  readonly deleteField: unknown;
}

/**
 * lockedHandler's waiting room on Firestore native mode, with no transactions (as the locks): each
 * operation reads the lock (and the parked documents it needs), then makes ONE commit whose write
 * of the lock is conditioned on the update time read. Every change of the room writes the lock in
 * that same commit, so two operations on one room never both apply: the second finds the lock's
 * update time moved, reads again (twice at most, see onFreshReads) or fails as contention.
 *
 * Parked messages are documents in the lock document's `parked` subcollection (parked-document.ts).
 * A hand-off grant and a claim write the lock without a `fence` field: their fence is their commit
 * time, as a takeover's. A park writes the lock keeping every field of the grant, the fence and the
 * holder's last sign of life (`signedAt`) included, so parking never lengthens a lease.
 */
export class FirestoreWaitingRoom implements WaitingRoomStore {
  constructor(
    private readonly calls: FirestoreCalls,
    private readonly places: WaitingRoomPlaces,
  ) {}

  park(request: ParkRequest): Promise<ParkOutcome> {
    const {identifier} = request;
    const ref = this.places.lockRef(identifier);
    return onFreshReads('park', async () => {
      const found = await this.read(ref, 'park (get)');
      const lock = decodeLock(found);
      if (!lock) return {outcome: 'free'} as const;
      if (lock.waiting && found.get(LAST_PARK_ID) === request.parkId)
        return this.landedPark(ref, lock, request);
      const depth = depthOf(lock.waiting);
      const takeable = takeableByAnyone(found, lock);
      if (takeable && depth === 0) return {outcome: 'free'} as const;
      if (depth >= request.maxDepth) return {outcome: 'full', depth} as const;
      const head = lock.waiting?.head ?? 0;
      const tail = lock.waiting?.tail ?? 0;
      // A lock nobody holds with messages parked: this park hands it to the head, as a release would.
      const dispatch = takeable
        ? await this.headOf(ref, identifier, head)
        : undefined;
      const next: LockFields = dispatch
        ? handOffFields(identifier, request.handOff, head, tail + 1, dispatch)
        : {...grantOf(lock), waiting: {...lock.waiting, head, tail: tail + 1}};
      const encoding: LockEncoding = dispatch
        ? {}
        : {signedAt: signedAtOf(found), oldestParkedNow: depth === 0};
      const written = await commitConditioned(
        this.calls,
        'park (commit)',
        batch => {
          batch.update(
            ref,
            {
              ...this.replacing(next, encoding),
              [LAST_PARK_ID]: request.parkId,
            },
            {lastUpdateTime: found.updateTime as Timestamp},
          );
          batch.set(
            parkedRefOf(ref, tail),
            encodeParked(
              {identifier, seq: tail, parkId: request.parkId},
              request.message,
            ),
          );
        },
      );
      if (written === CONFLICT) return CONFLICT;
      return {
        outcome: 'parked',
        seq: tail,
        depth: depth + 1,
        ...(dispatch ? {dispatch} : {}),
      } as const;
    });
  }

  async handOff(request: HandOffRequest): Promise<HandOffOutcome> {
    const {identifier} = request;
    const ref = this.places.lockRef(identifier);
    // The holder saw an empty room: one delete, which fails if anyone parked since (a park writes the lock).
    if (
      request.revision !== undefined &&
      !request.park &&
      (await this.deleteUnchanged(ref, request.revision))
    )
      return {released: true};
    return onFreshReads('hand-off', async () => {
      // The head the holder expects is read with the lock, at one read time: one round trip less.
      const hint = request.park ? undefined : request.headHint;
      const [found, hinted] =
        hint === undefined
          ? [await this.read(ref, 'hand-off (get)'), undefined]
          : await this.readBoth(ref, parkedRefOf(ref, hint), 'hand-off (get)');
      const lock = decodeLock(found);
      if (!lock) return {released: false} as const;
      if (lock.token === request.handOff.token)
        return this.landedHandOff(ref, found, lock, request);
      const runningNow = lock.waiting?.running;
      // Our own fused hand-off and claim, which landed although its answer was lost.
      if (lock.token === request.claimNext?.token && runningNow !== undefined)
        return {
          released: true,
          claimed: {
            record: lock,
            parked: await this.headOf(ref, identifier, runningNow),
          },
        } as const;
      if (lock.token !== request.token) return {released: false} as const;
      const running = lock.waiting?.running;
      const head =
        running === undefined ? (lock.waiting?.head ?? 0) : running + 1;
      const tail = lock.waiting?.tail ?? 0;
      const park = request.park;
      const nextTail = park ? tail + 1 : tail;
      // The request's own message is the head when the room was empty: it is its own dispatch.
      const headIsParkedNow = park !== undefined && head === tail;
      const hintedRecord =
        hint === head && hinted ? decodeParked(hinted) : null;
      const headRecord =
        head < nextTail && !headIsParkedNow
          ? (hintedRecord ?? (await this.headOf(ref, identifier, head)))
          : undefined;
      const lastUpdateTime = found.updateTime as Timestamp;
      // Drain in place: the grant a claim of the head would write, in this same commit.
      const claimedFields: LockFields | undefined =
        request.claimNext && headRecord
          ? roomGrantRecord(identifier, request.claimNext, {
              head,
              tail: nextTail,
              running: head,
              oldestParkedAt: headRecord.parkedAt,
            })
          : undefined;
      const written = await commitConditioned(
        this.calls,
        'hand-off (commit)',
        batch => {
          if (head < nextTail)
            batch.update(
              ref,
              {
                ...(claimedFields
                  ? this.replacing(claimedFields)
                  : this.replacing(
                      handOffFields(
                        identifier,
                        request.handOff,
                        head,
                        nextTail,
                        headRecord,
                      ),
                      {oldestParkedNow: headIsParkedNow},
                    )),
                ...(park ? {[LAST_PARK_ID]: park.parkId} : {}),
              },
              {lastUpdateTime},
            );
          else batch.delete(ref, {lastUpdateTime});
          if (running !== undefined) batch.delete(parkedRefOf(ref, running));
          if (park)
            batch.set(
              parkedRefOf(ref, tail),
              encodeParked(
                {identifier, seq: tail, parkId: park.parkId},
                park.message,
              ),
            );
        },
      );
      if (written === CONFLICT) return CONFLICT;
      if (claimedFields && headRecord)
        return {
          released: true,
          claimed: {
            record: {
              ...claimedFields,
              fence: microsOf(written.writeTime),
              revision: revisionOf(written.writeTime),
            },
            parked: headRecord,
          },
          ...(park ? {parkedSeq: tail} : {}),
        } as const;
      const dispatch =
        headRecord ??
        (headIsParkedNow
          ? parkedRecordOf(
              {identifier, seq: tail, parkId: park.parkId},
              park.message,
              written.writeTime,
            )
          : undefined);
      return {
        released: true,
        ...(dispatch ? {dispatch} : {}),
        ...(park ? {parkedSeq: tail} : {}),
      } as const;
    });
  }

  claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const {identifier, seq, parkId} = request;
    const ref = this.places.lockRef(identifier);
    return onFreshReads('claim', async () => {
      let snapshots: DocumentSnapshot[];
      try {
        // One read at one read time: the lock and the parked message as they were together.
        snapshots = await this.calls.getAll([ref, parkedRefOf(ref, seq)]);
      } catch (error) {
        throw classifyFirestoreError(error, {
          write: false,
          what: 'claim (get)',
        });
      }
      const [found, parkedFound] = snapshots as [
        DocumentSnapshot,
        DocumentSnapshot,
      ];
      const lock = decodeLock(found);
      const stored = decodeParked(parkedFound);
      // Another message at the same seq (the room emptied and filled again) is not this wake-up's.
      const parked = stored?.parkId === parkId ? stored : null;
      const waiting = lock?.waiting;
      if (!lock || !waiting || !parked)
        return {claimed: false, reason: 'gone'} as const;
      if (waiting.handedTo === seq) {
        const fields: LockFields = roomGrantRecord(identifier, request, {
          head: waiting.head,
          tail: waiting.tail,
          running: seq,
          ...(waiting.oldestParkedAt
            ? {oldestParkedAt: waiting.oldestParkedAt}
            : {}),
        });
        const written = await commitConditioned(
          this.calls,
          'claim (commit)',
          batch =>
            batch.update(ref, this.replacing(fields), {
              lastUpdateTime: found.updateTime as Timestamp,
            }),
        );
        if (written === CONFLICT) return CONFLICT;
        const record: LockRecord = {
          ...fields,
          fence: microsOf(written.writeTime),
          revision: revisionOf(written.writeTime),
        };
        return {claimed: true, record, parked} as const;
      }
      if (waiting.running === seq)
        // Its own claim landed although the answer was lost, or another delivery of the wake-up runs it.
        return lock.token === request.token
          ? ({claimed: true, record: lock, parked} as const)
          : ({claimed: false, reason: 'running'} as const);
      return {claimed: false, reason: 'parked'} as const;
    });
  }

  /**
   * One query for the locks whose lease or hand-off ended, or that were left vacant (their
   * `expiresAt` is when); each with messages parked and takeable on the store's clock is handed to
   * its head in one commit conditioned on the update time the query read, so a lock written since
   * (claimed, parked on, taken) is left to that writer. A lock whose commit failed for another
   * reason stays takeable and is tried again by the next sweep: its failure is only thrown when
   * nothing was dispatched, so the wake-ups already committed are never lost to it.
   */
  async sweep(request: SweepRequest): Promise<ParkedRecord[]> {
    const query = this.places
      .locks()
      .where('expiresAt', '<', request.now)
      .orderBy('expiresAt')
      .limit(SWEEP_PAGE);
    const dispatched: ParkedRecord[] = [];
    let failure: unknown;
    let after: DocumentSnapshot | undefined;
    for (;;) {
      let page;
      try {
        page = await this.calls.query(after ? query.startAfter(after) : query);
      } catch (error) {
        throw classifyFirestoreError(error, {
          write: false,
          what: 'sweep (query)',
        });
      }
      const due = page.docs.flatMap(found => {
        const lock = decodeLock(found);
        return lock && hasParked(lock) && takeableByAnyone(found, lock)
          ? [{found, lock}]
          : [];
      });
      const results = await Promise.allSettled(
        due.map(({found, lock}) =>
          this.handToHead(found, lock, request.handOff()),
        ),
      );
      for (const result of results) {
        if (result.status === 'rejected') failure ??= result.reason;
        else if (result.value) dispatched.push(result.value);
      }
      if (page.size < SWEEP_PAGE) break;
      after = page.docs[page.docs.length - 1];
    }
    if (failure !== undefined && dispatched.length === 0) throw failure;
    return dispatched;
  }

  async parked(identifier: string, limit: number): Promise<ParkedRecord[]> {
    if (!(limit > 0)) return [];
    const query = this.places
      .lockRef(identifier)
      .collection(PARKED_COLLECTION)
      .orderBy(FieldPath.documentId())
      .limit(limit);
    try {
      const page = await this.calls.query(query);
      return page.docs.flatMap(found => decodeParked(found) ?? []);
    } catch (error) {
      throw classifyFirestoreError(error, {
        write: false,
        what: 'parked (query)',
      });
    }
  }

  /** The sweep's hand-off of one lock as its query found it: `undefined` when it was written since. */
  private async handToHead(
    found: DocumentSnapshot,
    lock: LockRecord,
    grant: HandOffGrant,
  ): Promise<ParkedRecord | undefined> {
    // The room a taker inherits: whatever ran or was handed under the lapsed grant is the head again.
    const room = inheritedRoom(lock.waiting);
    if (!room) return undefined;
    const head = await this.headOf(found.ref, lock.identifier, room.head);
    const written = await commitConditioned(
      this.calls,
      'sweep (commit)',
      batch =>
        batch.update(
          found.ref,
          this.replacing(
            handOffFields(lock.identifier, grant, room.head, room.tail, head),
          ),
          {lastUpdateTime: found.updateTime as Timestamp},
        ),
    );
    return written === CONFLICT ? undefined : head;
  }

  /**
   * A park retried after its commit landed unseen (the lock names its parkId, and no park came
   * since, or it would name that one): parked at the tail. Its own hand-off, if it made one, is
   * recognised by the grant's token.
   */
  private async landedPark(
    ref: DocumentReference,
    lock: LockRecord,
    request: ParkRequest,
  ): Promise<ParkOutcome> {
    const waiting = lock.waiting as NonNullable<LockRecord['waiting']>;
    const dispatch =
      lock.token === request.handOff.token && waiting.handedTo !== undefined
        ? await this.headOf(ref, request.identifier, waiting.handedTo)
        : undefined;
    return {
      outcome: 'parked',
      seq: waiting.tail - 1,
      depth: depthOf(waiting),
      ...(dispatch ? {dispatch} : {}),
    };
  }

  /** A hand-off retried after its commit landed unseen: the lock is granted to its hand-off token. */
  private async landedHandOff(
    ref: DocumentReference,
    found: DocumentSnapshot,
    lock: LockRecord,
    request: HandOffRequest,
  ): Promise<HandOffOutcome> {
    const handedTo = lock.waiting?.handedTo;
    const dispatch =
      handedTo === undefined
        ? undefined
        : await this.headOf(ref, request.identifier, handedTo);
    const parkedSeq =
      request.park &&
      lock.waiting &&
      found.get(LAST_PARK_ID) === request.park.parkId
        ? lock.waiting.tail - 1
        : undefined;
    return {
      released: true,
      ...(dispatch ? {dispatch} : {}),
      ...(parkedSeq === undefined ? {} : {parkedSeq}),
    };
  }

  /**
   * The parked message at `seq`, read after the lock: the commit that follows is conditioned on the
   * lock as read, and every change of the room writes the lock, so it cannot have changed between.
   */
  private async headOf(
    ref: DocumentReference,
    identifier: string,
    seq: number,
  ): Promise<ParkedRecord> {
    const record = decodeParked(
      await this.read(parkedRefOf(ref, seq), 'waiting room (get head)'),
    );
    if (!record)
      throw new BackendCallError(
        `Firestore waiting room of ${JSON.stringify(identifier.slice(0, 80))}: no parked message at its head (${seq}); were parked documents removed by hand?`,
        {retryable: false, mayHaveApplied: false, contention: false},
        {kind: LockKind.STRONG},
      );
    return record;
  }

  /** The fast release: one delete conditioned on the holder's revision; `false` when the lock changed since. */
  private async deleteUnchanged(
    ref: DocumentReference,
    revision: string,
  ): Promise<boolean> {
    const time = timeOfRevision(revision);
    if (!time) return false;
    try {
      await this.calls.delete(ref, {
        lastUpdateTime: new Timestamp(time.seconds, time.nanoseconds),
      });
      return true;
    } catch (error) {
      if (isFailedPrecondition(error)) return false;
      throw classifyFirestoreError(error, {
        write: true,
        what: 'hand-off (delete)',
      });
    }
  }

  /** Two documents as they were together (one read time). */
  private async readBoth(
    first: DocumentReference,
    second: DocumentReference,
    what: string,
  ): Promise<[DocumentSnapshot, DocumentSnapshot]> {
    try {
      return (await this.calls.getAll([first, second])) as [
        DocumentSnapshot,
        DocumentSnapshot,
      ];
    } catch (error) {
      throw classifyFirestoreError(error, {write: false, what});
    }
  }

  private async read(
    ref: DocumentReference,
    what: string,
  ): Promise<DocumentSnapshot> {
    try {
      return await this.calls.get(ref);
    } catch (error) {
      throw classifyFirestoreError(error, {write: false, what});
    }
  }

  private replacing(fields: LockFields, encoding?: LockEncoding) {
    return encodeLockReplacing(fields, this.places.deleteField, encoding);
  }
}

const SWEEP_PAGE = 500;

/** The lock as a grant to the room's head, whose wake-up is on its way; it must claim it within the lease. */
function handOffFields(
  identifier: string,
  grant: HandOffGrant,
  head: number,
  tail: number,
  headRecord: ParkedRecord | undefined,
): LockFields {
  return roomGrantRecord(identifier, grant, {
    head,
    tail,
    handedTo: head,
    ...(headRecord ? {oldestParkedAt: headRecord.parkedAt} : {}),
  });
}

/** The lock's fields as stored, to be written again unchanged but for the room. */
function grantOf(lock: LockRecord): LockFields {
  const {revision: _revision, ...fields} = lock;
  return fields;
}
