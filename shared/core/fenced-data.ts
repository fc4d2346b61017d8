import {createHash} from 'node:crypto';
import {LockError} from './errors';

/**
 * The property in which a fenced write keeps the highest fence that ever wrote an entity (or
 * document): an unindexed integer beside the caller's data. The fenced calls own it; `update`
 * never sees it.
 */
export const FENCE_PROPERTY = 'lockFence';

/** An entity's (a document's) properties, as the caller's `update` sees and returns them. */
export type EntityData = Record<string, unknown>;

/**
 * `[kind, name, (kind, name)...]`: an entity (Datastore) or a document (Firestore native:
 * collection, id, ...) in the lock's own store, database and namespace.
 */
export type EntityPath = readonly string[];

export type EntityUpdate = (
  current: EntityData | undefined,
) => EntityData | Promise<EntityData>;

export interface FencedWriteOptions {
  /**
   * Recorded in the same commit as the write; a second write to the same path with the same
   * onceKey applies nothing (until the record expires: see `onceKeyRetentionMs`).
   */
  readonly onceKey?: string;
  /** Datastore: properties of the data `update` returns to keep out of indexes (long strings, big arrays). */
  readonly excludeFromIndexes?: readonly string[];
}

export type FencedWriteResult =
  /** `data`: what was written; `undefined` after a delete. */
  | {readonly applied: true; readonly data: EntityData | undefined}
  /** A write with this onceKey already applied to this path: nothing was written now. */
  | {readonly applied: false; readonly reason: 'duplicate'};

/**
 * Where the stores keep, beside the data, the highest fence that ever wrote a path (the record
 * outlives a fenced delete: it is the tombstone) and the once-keys of recent writes. The fence
 * record is the store's memory that a later holder wrote: nothing removes it.
 */
export const FENCE_RECORD_KIND = 'LockFence';
export const ONCE_KEY_KIND = 'LockOnceKey';

/**
 * How long a once-key is remembered: Pub/Sub keeps an unacknowledged message, and so may
 * redeliver it, for up to 7 days.
 */
export const DEFAULT_ONCE_KEY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Longest once-key accepted (Datastore's key-name limit; it is stored hashed, so any text fits). */
export const MAX_ONCE_KEY_BYTES = 1500;

/** The fence record's name for a path, given the store's exact spelling of that path. */
export function fenceRecordName(pathIdentity: string): string {
  return sha256(pathIdentity);
}

/** A once-key's record name: scoped to its path. */
export function onceRecordName(pathIdentity: string, onceKey: string): string {
  return sha256(`${pathIdentity}\n${onceKey}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The record kinds and the locks' own kind are not the caller's to write. */
export function checkKindWritable(kind: string, lockKind?: string): void {
  if (
    kind === FENCE_RECORD_KIND ||
    kind === ONCE_KEY_KIND ||
    kind === lockKind
  ) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `a fenced write cannot write the kind ${JSON.stringify(kind)}: the library keeps its own records there`,
    );
  }
}

/** What `update` returned, checked: an object of properties without the fence property. */
export function checkedData(data: unknown): EntityData {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `a fenced write's update must return an object of properties, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`,
    );
  }
  if (FENCE_PROPERTY in data) {
    throw new LockError(
      'INVALID_ARGUMENT',
      `a fenced write's update returned the property ${FENCE_PROPERTY}, which the fenced write keeps itself`,
    );
  }
  return data as EntityData;
}

export function staleFenceError(fence: bigint, stored: bigint): LockError {
  return new LockError(
    'STALE_FENCE',
    `refused a write with fence ${fence}: the path was already written with fence ${stored}, so a later holder of the lock has written it`,
  );
}

/** The higher of two fences, either absent. */
export function highestFence(
  a: bigint | undefined,
  b: bigint | undefined,
): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
