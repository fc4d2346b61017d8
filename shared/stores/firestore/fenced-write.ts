import {randomUUID} from 'node:crypto';
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Timestamp,
} from '@google-cloud/firestore';
import type {FencedWriteOutcome, FencedWriteRequest} from '../../core/backend';
import {BackendCallError, LockError} from '../../core/errors';
import {
  checkedData,
  checkKindWritable,
  FENCE_PROPERTY,
  FENCE_RECORD_KIND,
  fenceRecordName,
  highestFence,
  ONCE_KEY_KIND,
  onceRecordName,
  staleFenceError,
  type EntityData,
} from '../../core/fenced-data';
import {LockKind} from '../../core/kinds';
import {deleteUnchanged} from './delete-unchanged';
import {documentId} from './document-id';
import type {FirestoreCalls} from './firestore-calls';
import {
  classifyFirestoreError,
  isAlreadyExists,
  isFailedPrecondition,
} from './firestore-errors';

/** A fenced write aimed at a document (the path already made a reference). */
export type FirestoreFencedWrite = Omit<FencedWriteRequest, 'path'>;

/**
 * Fenced writes on Firestore native mode, one commit each and no transaction: the data document,
 * its fence record (`LockFence/{sha256 of the document's path}`: the highest fence that ever wrote
 * it, kept when the data is deleted or saved without the fence) and its once-key record
 * (`LockOnceKey/...`), all at the database's root. The three are read together at one read time;
 * the commit is conditioned on the fence record's update time as read (or on its absence), and
 * every fenced write of the path rewrites that record, so a fenced write that came in between
 * fails the commit, which is then tried again on a fresh read. One send per commit, as every
 * write here (see firestore-calls.ts).
 */
export class FirestoreFencedWriter {
  constructor(private readonly calls: FirestoreCalls) {}

  /** One attempt; the caller retries (see fenced-write.ts). */
  async write(
    ref: DocumentReference,
    request: FirestoreFencedWrite,
  ): Promise<FencedWriteOutcome> {
    const db = this.calls.firestore;
    const identity = ref.path;
    const fenceRef = db
      .collection(FENCE_RECORD_KIND)
      .doc(fenceRecordName(identity));
    const onceRef =
      request.once &&
      db
        .collection(ONCE_KEY_KIND)
        .doc(onceRecordName(identity, request.once.onceKey));
    let snapshots: DocumentSnapshot[];
    try {
      snapshots = await this.calls.getAll(
        onceRef ? [ref, fenceRef, onceRef] : [ref, fenceRef],
      );
    } catch (error) {
      throw classifyFirestoreError(error, {
        write: false,
        what: 'fenced write (get)',
      });
    }
    // The commit is conditioned on the fence record only, which every fenced write of the path
    // rewrites: the data must have been read at that same instant for the check to cover it.
    const readAt = snapshots[0]?.readTime;
    if (!snapshots.every(read => readAt && read.readTime?.isEqual(readAt)))
      throw new BackendCallError(
        'Firestore fenced write: the document and its records were read at different times',
        {retryable: true, mayHaveApplied: false, contention: true},
        {kind: LockKind.STRONG},
      );
    const [data, record, once] = snapshots as [
      DocumentSnapshot,
      DocumentSnapshot,
      DocumentSnapshot | undefined,
    ];
    if (once?.exists && !expired(once, Date.now())) {
      return {
        applied: false,
        reason: 'duplicate',
        writeId: String(once.get('writeId') ?? ''),
      };
    }
    const stored = highestFence(
      fenceOf(record.get('fence')),
      fenceOf(data.get(FENCE_PROPERTY)),
    );
    if (stored !== undefined && request.fence < stored)
      throw staleFenceError(request.fence, stored);
    const highest = highestFence(stored, request.fence) as bigint;

    let written: EntityData | undefined;
    if (request.update) {
      let current: EntityData | undefined;
      if (data.exists) {
        const {[FENCE_PROPERTY]: _fence, ...properties} = data.data() ?? {};
        current = properties;
      }
      written = checkedData(await request.update(current));
    }
    const fenceFields = {
      fence: highest.toString(),
      path: identity,
      // Unique per commit, so that every fenced write moves the record's update time.
      writeId: request.once?.writeId ?? randomUUID(),
    };
    try {
      await this.calls.commit('fenced write (commit)', batch => {
        try {
          if (written === undefined) batch.delete(ref);
          else batch.set(ref, {...written, [FENCE_PROPERTY]: highest});
        } catch (error) {
          throw new LockError(
            'INVALID_ARGUMENT',
            `a fenced write's data cannot be stored in Firestore: ${(error as Error).message}`,
            {cause: error},
          );
        }
        if (record.exists)
          batch.update(fenceRef, fenceFields, {
            lastUpdateTime: record.updateTime as Timestamp,
          });
        else batch.create(fenceRef, fenceFields);
        if (onceRef && request.once)
          batch.set(onceRef, {
            onceKey: request.once.onceKey,
            writeId: request.once.writeId,
            path: identity,
            expiresAt: request.once.expiresAt,
          });
      });
    } catch (error) {
      if (error instanceof LockError && !(error instanceof BackendCallError))
        throw error;
      if (isFailedPrecondition(error) || isAlreadyExists(error))
        throw new BackendCallError(
          'Firestore fenced write: another fenced write of the same document committed first',
          {retryable: true, mayHaveApplied: false, contention: true},
          {kind: LockKind.STRONG, cause: error},
        );
      throw classifyFirestoreError(error, {
        write: true,
        what: 'fenced write (commit)',
      });
    }
    return {applied: true, data: written};
  }

  /** Deletes the once-key records that expired before `now`, each only as it was read (one written again since stays). */
  async removeExpiredOnceKeys(now: Date): Promise<number> {
    const query = this.calls.firestore
      .collection(ONCE_KEY_KIND)
      .where('expiresAt', '<', now)
      .orderBy('expiresAt')
      .limit(EXPIRED_PAGE);
    let removed = 0;
    let after: DocumentSnapshot | undefined;
    for (;;) {
      let page;
      try {
        page = await this.calls.query(after ? query.startAfter(after) : query);
      } catch (error) {
        throw classifyFirestoreError(error, {
          write: false,
          what: 'once-key query',
        });
      }
      const results = await Promise.all(
        page.docs.map(found =>
          deleteUnchanged(this.calls, found, 'once-key delete'),
        ),
      );
      removed += results.filter(Boolean).length;
      if (page.size < EXPIRED_PAGE) break;
      after = page.docs[page.docs.length - 1];
    }
    return removed;
  }
}

const EXPIRED_PAGE = 500;

/**
 * The document at `path` ([collection, id, ...]) under `root` (the locks' namespace, if any); ids
 * escaped (document-id.ts). INVALID_ARGUMENT for the library's own collections and impossible ids.
 */
export function fencedRef(
  firestore: Firestore,
  root: string,
  path: readonly string[],
  lockCollection?: string,
): DocumentReference {
  const parts: string[] = [];
  for (let i = 0; i < path.length; i += 2) {
    const collection = path[i] as string;
    checkKindWritable(collection, lockCollection);
    if (collection.includes('/') || /^__.*__$/.test(collection))
      throw new LockError(
        'INVALID_ARGUMENT',
        `a Firestore collection id cannot contain "/" nor be __reserved__, got ${JSON.stringify(collection.slice(0, 80))}`,
      );
    const id = documentId(path[i + 1] as string);
    if (Buffer.byteLength(id, 'utf8') > 1500)
      throw new LockError(
        'INVALID_ARGUMENT',
        `a Firestore document id must be at most 1,500 bytes escaped, got ${Buffer.byteLength(id, 'utf8')}`,
      );
    parts.push(collection, id);
  }
  return firestore.doc(`${root}${parts.join('/')}`);
}

function expired(found: DocumentSnapshot, nowMs: number): boolean {
  const at = found.get('expiresAt') as Timestamp | undefined;
  return typeof at?.toMillis !== 'function' || at.toMillis() <= nowMs;
}

function fenceOf(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value))
    return BigInt(value);
  return undefined;
}
