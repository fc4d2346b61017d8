import type {LockRecord} from '../../core/backend';
import {BackendCallError} from '../../core/errors';
import {sinceLastSignMs, takeoverOf} from '../../core/taking-rules';
import {roomGrantRecord} from '../common/grant-records';
import {depthOf, hasParked, isVacant} from '../../waiting-room/state';
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
  WaitingRoomState,
  WaitingRoomStore,
} from '../../waiting-room/types';
import {classifyDatastoreError} from './datastore-errors';
import type {
  DatastoreRpc,
  FoundEntity,
  KeyProto,
  MutationProto,
  TransactionId,
} from './datastore-rpc';
import {deleteAtVersion} from './delete-at-version';
import {
  decodeLock,
  encodeLock,
  lastParkIdOf,
  lockKey,
  storeTimesOf,
  type LockFields,
  type ParkMarks,
} from './lock-entity';
import {
  decodeParked,
  encodeParked,
  parkedKey,
  parkedKind,
} from './parked-entity';
import type {PreconditionSupport} from './precondition-probe';
import {inTransaction, isAt, lookupAll, lookupOne} from './transaction';

export interface DatastoreWaitingRoomSettings {
  readonly entityKind: string;
  readonly partition: () => Promise<NonNullable<KeyProto['partitionId']>>;
  readonly preconditions: PreconditionSupport;
}

/**
 * lockedHandler's waiting room on Datastore (see waiting-room/types.ts). Parked messages are child
 * entities of the lock (parked-entity.ts), so every operation is one read-write transaction on one
 * entity group: begin, one lookup (two when it must read the room's head as well), commit (or
 * rollback when it writes nothing). Every write of the room also writes the lock, whose bookkeeping
 * (`waiting`) says where the room starts and ends, so a release or a park that raced it aborts
 * (legacy emulator: ABORTED at once; Firestore mode: a wait, then "Transaction lock timeout"):
 * retryable contention, classified as every other Datastore call.
 *
 * A lock is taken from the room's point of view when it is vacant, or its holder's lease (or its
 * own steal time, for a lease-less holder) ended, judged on the store's clock where it reports one.
 */
export class DatastoreWaitingRoom implements WaitingRoomStore {
  constructor(
    private readonly rpc: DatastoreRpc,
    private readonly settings: DatastoreWaitingRoomSettings,
  ) {}

  async park(request: ParkRequest): Promise<ParkOutcome> {
    const key = await this.keyOf(request.identifier);
    return inTransaction<ParkOutcome>(this.rpc, 'park', async transaction => {
      const found = await lookupOne(this.rpc, key, transaction);
      if (!found) return {outcome: {outcome: 'free'}};
      const current = decodeLock(found);
      const room = current.waiting;
      const depth = depthOf(room);
      // The lock's last write was this very park (its answer was lost): answer as it would have.
      if (room && depth > 0 && lastParkIdOf(found) === request.parkId)
        return {
          outcome: await this.parkedAlready(
            key,
            current,
            room,
            request,
            transaction,
          ),
        };
      const takeable = isTakeable(found, current);
      if (takeable && depth === 0) return {outcome: {outcome: 'free'}};
      if (depth >= request.maxDepth) return {outcome: {outcome: 'full', depth}};

      const seq = room?.tail ?? 0;
      const parked: ParkedRecord = {
        ...request.message,
        identifier: request.identifier,
        seq,
        parkId: request.parkId,
        parkedAt: found.readAt ?? new Date(),
      };
      const mutations: MutationProto[] = [
        {upsert: encodeParked(this.parkedKey(key, seq), parked)},
      ];
      if (!takeable) {
        // Held (or handed off): only the room's end moves; the grant stays exactly as it was.
        const {revision: _revision, ...grant} = current;
        const fields: LockFields = {
          ...grant,
          waiting: {
            ...(room ?? {}),
            head: room?.head ?? seq,
            tail: seq + 1,
            oldestParkedAt: room?.oldestParkedAt ?? parked.parkedAt,
          },
        };
        mutations.push({
          upsert: encodeLock(key, fields, {
            signedAt: storeTimesOf(found).updatedAt,
            lastParkId: request.parkId,
          }),
        });
        return {
          mutations,
          onCommit: () => ({outcome: 'parked', seq, depth: depth + 1}),
        };
      }
      // Vacant or lapsed with messages parked: this park joins the end and wakes the head.
      const handed = await this.handToHead(
        key,
        current.identifier || request.identifier,
        {head: room?.head ?? seq, tail: seq + 1},
        request.handOff,
        transaction,
        parked,
        {signedAt: undefined, lastParkId: request.parkId},
      );
      mutations.push(handed.write);
      return {
        mutations,
        onCommit: () => ({
          outcome: 'parked',
          seq,
          depth: depth + 1,
          dispatch: handed.dispatch,
        }),
      };
    });
  }

  async handOff(request: HandOffRequest): Promise<HandOffOutcome> {
    const key = await this.keyOf(request.identifier);
    if (
      request.revision !== undefined &&
      !request.park &&
      (await this.settings.preconditions.honoured()) &&
      (await deleteAtVersion(
        this.rpc,
        key,
        request.revision,
        'hand off (delete)',
      ))
    )
      return {released: true};
    return inTransaction<HandOffOutcome>(
      this.rpc,
      'hand off',
      async transaction => {
        // The head the holder expects is read with the lock, in one lookup: the transaction is
        // shorter, so parks committing meanwhile abort it less often.
        const hintKey =
          request.headHint === undefined
            ? undefined
            : this.parkedKey(key, request.headHint);
        const both = await lookupAll(
          this.rpc,
          hintKey ? [key, hintKey] : [key],
          transaction,
        );
        const found = both.find(one => isAt(one, key)) ?? null;
        const hinted = hintKey && both.find(one => isAt(one, hintKey));
        const current = found ? decodeLock(found) : null;
        if (!current) return {outcome: {released: false}};
        const room = current.waiting;
        if (current.token !== request.token) {
          // Our own fused hand-off and claim, which landed although its answer was lost.
          if (
            current.token === request.claimNext?.token &&
            room?.running !== undefined
          ) {
            const head = await lookupOne(
              this.rpc,
              this.parkedKey(key, room.running),
              transaction,
            );
            return {
              outcome: {
                released: true,
                ...(head
                  ? {claimed: {record: current, parked: decodeParked(head)}}
                  : {}),
              },
            };
          }
          // Our own hand-off, which landed although its answer was lost: answer it again.
          if (
            current.token === request.handOff.token &&
            room?.handedTo !== undefined
          ) {
            const head = await lookupOne(
              this.rpc,
              this.parkedKey(key, room.handedTo),
              transaction,
            );
            return {
              outcome: {
                released: true,
                ...(head ? {dispatch: decodeParked(head)} : {}),
              },
            };
          }
          return {outcome: {released: false}};
        }
        const mutations: MutationProto[] = [];
        let head = room?.head ?? 0;
        let tail = room?.tail ?? 0;
        if (room?.running !== undefined) {
          mutations.push({delete: this.parkedKey(key, room.running)});
          head = room.running + 1;
        }
        let parked: ParkedRecord | undefined;
        if (request.park) {
          parked = {
            ...request.park.message,
            identifier: request.identifier,
            seq: tail,
            parkId: request.park.parkId,
            parkedAt: found?.readAt ?? new Date(),
          };
          mutations.push({
            upsert: encodeParked(this.parkedKey(key, tail), parked),
          });
          tail += 1;
        }
        const handed = await this.handToHead(
          key,
          current.identifier || request.identifier,
          {head, tail},
          request.handOff,
          transaction,
          // Read in this transaction, so it is the room's record at its seq if that is the head.
          request.park || !hinted ? parked : decodeParked(hinted),
        );
        const first = handed.dispatch;
        if (request.claimNext && first) {
          // Drain in place: the grant a claim of the head would write, in this same commit.
          const fields = roomGrantRecord(
            current.identifier || request.identifier,
            request.claimNext,
            {
              head: first.seq,
              tail,
              running: first.seq,
              oldestParkedAt: first.parkedAt,
            },
          );
          mutations.push({upsert: encodeLock(key, fields)});
          return {
            mutations,
            onCommit: versions => ({
              released: true,
              claimed: {
                record: recordOf(
                  fields,
                  versions[versions.length - 1] as bigint,
                ),
                parked: first,
              },
              ...(parked ? {parkedSeq: parked.seq} : {}),
            }),
          };
        }
        mutations.push(handed.write);
        return {
          mutations,
          onCommit: () => ({
            released: true,
            ...(first ? {dispatch: first} : {}),
            ...(parked ? {parkedSeq: parked.seq} : {}),
          }),
        };
      },
    );
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const key = await this.keyOf(request.identifier);
    const ownKey = this.parkedKey(key, request.seq);
    return inTransaction<ClaimOutcome>(this.rpc, 'claim', async transaction => {
      const found = await lookupAll(this.rpc, [key, ownKey], transaction);
      const lock = found.find(one => isAt(one, key));
      const current = lock ? decodeLock(lock) : null;
      const own = found.find(one => isAt(one, ownKey));
      const parked = own ? decodeParked(own) : null;
      const mine = parked?.parkId === request.parkId ? parked : null;
      const room = current?.waiting;
      if (current && room && mine && room.handedTo === request.seq) {
        const fields = roomGrantRecord(
          current.identifier || request.identifier,
          request,
          {
            head: room.head,
            tail: room.tail,
            running: request.seq,
            ...(room.oldestParkedAt
              ? {oldestParkedAt: room.oldestParkedAt}
              : {}),
          },
        );
        return {
          mutations: [{upsert: encodeLock(key, fields)}],
          onCommit: ([version]) => ({
            claimed: true,
            record: recordOf(fields, version as bigint),
            parked: mine,
          }),
        };
      }
      if (current && mine && room?.running === request.seq) {
        return {
          outcome:
            current.token === request.token
              ? {claimed: true, record: current, parked: mine}
              : {claimed: false, reason: 'running'},
        };
      }
      return {outcome: {claimed: false, reason: mine ? 'parked' : 'gone'}};
    });
  }

  /**
   * Two reads on the locks the expiresAt query finds past their time (vacant locks carry the time
   * they were vacated), a plain lookup to keep only those with messages parked that are takeable,
   * then a transaction per lock that judges it again and hands it to its head. A lock another
   * caller is working on right now (contention) is left to it, or to the next sweep.
   */
  async sweep(request: SweepRequest): Promise<ParkedRecord[]> {
    const partition = await this.settings.partition();
    const dispatched: ParkedRecord[] = [];
    let cursor: Uint8Array | string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.rpc.keysBefore(
          partition,
          this.settings.entityKind,
          'expiresAt',
          request.now,
          SWEEP_PAGE,
          cursor,
        );
      } catch (error) {
        throw classifyDatastoreError(error, {
          write: false,
          what: 'sweep (query)',
        });
      }
      const candidates =
        page.keys.length === 0
          ? []
          : (await lookupAll(this.rpc, page.keys)).filter(
              found =>
                hasParked(decodeLock(found)) &&
                isTakeable(found, decodeLock(found)),
            );
      for (const candidate of candidates) {
        try {
          const record = await this.dispatchHead(candidate, request.handOff());
          if (record) dispatched.push(record);
        } catch (error) {
          if (error instanceof BackendCallError && error.contention) continue;
          throw error;
        }
      }
      // The legacy emulator reports MORE_RESULTS_AFTER_LIMIT even on an empty last page.
      if (!page.more || !page.endCursor || page.keys.length === 0) break;
      cursor = page.endCursor;
    }
    return dispatched;
  }

  async parked(identifier: string, limit: number): Promise<ParkedRecord[]> {
    const key = await this.keyOf(identifier);
    const records: ParkedRecord[] = [];
    let cursor: Uint8Array | string | undefined;
    while (records.length < limit) {
      let page;
      try {
        page = await this.rpc.childEntities(
          key,
          parkedKind(this.settings.entityKind),
          limit - records.length,
          cursor,
        );
      } catch (error) {
        throw classifyDatastoreError(error, {
          write: false,
          what: 'parked (query)',
        });
      }
      records.push(...page.found.map(decodeParked));
      if (!page.more || !page.endCursor || page.found.length === 0) break;
      cursor = page.endCursor;
    }
    return records.slice(0, limit);
  }

  /**
   * The sweep's transaction on one lock: reads the lock and the head it was judged with in one
   * lookup, judges again, and hands the lock to its head.
   */
  private async dispatchHead(
    judged: FoundEntity,
    grant: HandOffGrant,
  ): Promise<ParkedRecord | undefined> {
    // The key as this client builds it: a key a query returned can carry a partition spelled
    // differently, which the store refuses beside ours in one transaction ("mismatched databases").
    const key: KeyProto = {
      partitionId: await this.settings.partition(),
      path: (judged.entity.key as KeyProto).path ?? [],
    };
    const judgedHead = decodeLock(judged).waiting?.head ?? 0;
    const headKey = this.parkedKey(key, judgedHead);
    return inTransaction<ParkedRecord | undefined>(
      this.rpc,
      'sweep',
      async transaction => {
        const found = await lookupAll(this.rpc, [key, headKey], transaction);
        const lock = found.find(one => isAt(one, key));
        const current = lock ? decodeLock(lock) : null;
        if (!lock || !current?.waiting || !isTakeable(lock, current))
          return {outcome: undefined};
        const head = found.find(one => isAt(one, headKey));
        const handed = await this.handToHead(
          key,
          current.identifier,
          current.waiting,
          grant,
          transaction,
          head && current.waiting.head === judgedHead
            ? decodeParked(head)
            : undefined,
        );
        return {mutations: [handed.write], onCommit: () => handed.dispatch};
      },
    );
  }

  /**
   * The write that hands the lock to the first message parked in [head, tail) with a fresh hand-off
   * grant, and that message; or the lock's delete when nobody is parked. `known` saves a lookup when
   * the head is already in hand (a message parked in this very transaction). A hand-off grant is a
   * sign of life; `marks` only say which park wrote it.
   */
  private async handToHead(
    key: KeyProto,
    identifier: string,
    room: Pick<WaitingRoomState, 'head' | 'tail'>,
    grant: HandOffGrant,
    transaction: TransactionId,
    known: ParkedRecord | undefined,
    marks?: ParkMarks,
  ): Promise<{write: MutationProto; dispatch: ParkedRecord | undefined}> {
    for (let head = room.head; head < room.tail; head++) {
      let record = known?.seq === head ? known : undefined;
      if (!record) {
        const found = await lookupOne(
          this.rpc,
          this.parkedKey(key, head),
          transaction,
        );
        // Records exist for every seq in [head, tail); one missing would be skipped, not waited on.
        if (!found) continue;
        record = decodeParked(found);
      }
      const fields = roomGrantRecord(identifier, grant, {
        head,
        tail: room.tail,
        handedTo: head,
        oldestParkedAt: record.parkedAt,
      });
      return {
        write: {upsert: encodeLock(key, fields, marks)},
        dispatch: record,
      };
    }
    return {write: {delete: key}, dispatch: undefined};
  }

  /** A park retried after its commit landed unseen: its seq is the room's last. */
  private async parkedAlready(
    key: KeyProto,
    current: LockRecord,
    room: WaitingRoomState,
    request: ParkRequest,
    transaction: TransactionId,
  ): Promise<ParkOutcome> {
    let dispatch: ParkedRecord | undefined;
    if (
      current.token === request.handOff.token &&
      room.handedTo !== undefined
    ) {
      const head = await lookupOne(
        this.rpc,
        this.parkedKey(key, room.handedTo),
        transaction,
      );
      dispatch = head ? decodeParked(head) : undefined;
    }
    return {
      outcome: 'parked',
      seq: room.tail - 1,
      depth: depthOf(room),
      ...(dispatch ? {dispatch} : {}),
    };
  }

  private parkedKey(lock: KeyProto, seq: number): KeyProto {
    return parkedKey(lock, this.settings.entityKind, seq);
  }

  private async keyOf(identifier: string): Promise<KeyProto> {
    let partition;
    try {
      partition = await this.settings.partition();
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: false,
        what: 'project lookup',
      });
    }
    return lockKey(partition, this.settings.entityKind, identifier);
  }
}

const SWEEP_PAGE = 500;

/**
 * Whether the room may hand the lock on: vacant (no holder), or its holder's lease ended (a
 * lease-less holder: its own steal time passed, as cleanup judges it), on the store's clock.
 */
function isTakeable(found: FoundEntity, current: LockRecord): boolean {
  return (
    isVacant(current) ||
    takeoverOf(
      current,
      sinceLastSignMs(storeTimesOf(found), current),
      current.stealAfterMs,
    ) !== null
  );
}

function recordOf(fields: LockFields, version: bigint): LockRecord {
  return {...fields, fence: version, revision: version.toString()};
}
