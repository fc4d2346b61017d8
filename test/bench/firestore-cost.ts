import {
  DocumentReference,
  type DocumentSnapshot,
  type Firestore,
} from '@google-cloud/firestore';

/**
 * Counts, at the client, what Firestore in native mode bills, by wrapping the client's two doors to
 * the store (`request`, `requestStream`) and the listeners it opens:
 * - RPCs: commits, gets (batchGetDocuments), queries, listen streams opened;
 * - writes and deletes: those of a commit that succeeded (a refused create or a failed
 *   precondition changes nothing; counted apart, as refused writes);
 * - reads: one per document a get asks for, and for listeners one per snapshot delivered that
 *   carries the document (its first included, with or without it), none for a deletion delivered
 *   (Google's pricing: a listener pays a read per document added or changed, not per deletion).
 */
export interface FirestoreCost {
  rpcs: number;
  reads: number;
  writes: number;
  deletes: number;
  refusedWrites: number;
  /** Of `reads`, those listeners delivered. */
  listenerReads: number;
}

type Door = (method: string, ...rest: unknown[]) => Promise<unknown>;

export function emptyFirestoreCost(): FirestoreCost {
  return {
    rpcs: 0,
    reads: 0,
    writes: 0,
    deletes: 0,
    refusedWrites: 0,
    listenerReads: 0,
  };
}

export function countFirestoreCosts(firestore: Firestore): {
  cost: FirestoreCost;
  restore(): void;
} {
  const cost = emptyFirestoreCost();
  const client = firestore as unknown as {request: Door; requestStream: Door};
  const request = client.request;
  const requestStream = client.requestStream;
  client.request = function (this: unknown, method, ...rest) {
    cost.rpcs++;
    const writes =
      method === 'commit'
        ? ((rest[0] as {writes?: {delete?: unknown}[]}).writes ?? [])
        : [];
    return request.call(this, method, ...rest).then(
      response => {
        for (const write of writes) {
          if (write.delete) cost.deletes++;
          else cost.writes++;
        }
        return response;
      },
      (error: unknown) => {
        cost.refusedWrites += writes.length;
        throw error;
      },
    );
  } as Door;
  client.requestStream = function (this: unknown, method, ...rest) {
    cost.rpcs++;
    if (method === 'batchGetDocuments') {
      const documents =
        (rest[1] as {documents?: unknown[]} | undefined)?.documents ?? [];
      cost.reads += documents.length;
    }
    return requestStream.call(this, method, ...rest);
  } as Door;

  const onSnapshot = DocumentReference.prototype.onSnapshot;
  DocumentReference.prototype.onSnapshot = function (
    this: DocumentReference,
    ...args: unknown[]
  ) {
    if (this.firestore !== firestore)
      return (onSnapshot as (...a: unknown[]) => () => void).apply(this, args);
    const onNext = args[0] as (snapshot: DocumentSnapshot) => void;
    let first = true;
    args[0] = (snapshot: DocumentSnapshot) => {
      if (first || snapshot.exists) {
        cost.reads++;
        cost.listenerReads++;
      }
      first = false;
      onNext(snapshot);
    };
    return (onSnapshot as (...a: unknown[]) => () => void).apply(this, args);
  } as typeof onSnapshot;

  return {
    cost,
    restore: () => {
      client.request = request;
      client.requestStream = requestStream;
      DocumentReference.prototype.onSnapshot = onSnapshot;
    },
  };
}
