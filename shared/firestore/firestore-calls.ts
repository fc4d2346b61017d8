import type { DocumentReference, DocumentSnapshot, Firestore, Precondition, Query, QuerySnapshot, WriteResult, DocumentData } from '@google-cloud/firestore';
import { callTimeoutMs } from '../budget';
import { GrpcStatus } from '../grpc-errors';

/**
 * The Firestore calls the STRONG backend makes, each bounded by a deadline: the configured one, cut
 * to what is left of the caller's budget (see shared/budget.ts). The high-level client takes no
 * per-call deadline, so the wait is bounded here; a call still in flight when it passes may yet
 * apply, which is what DEADLINE_EXCEEDED tells the retry layer (an unknown outcome).
 */
export class FirestoreCalls {
  constructor(
    readonly firestore: Firestore,
    private readonly timeoutMs: number,
  ) {}

  create(ref: DocumentReference, data: DocumentData): Promise<WriteResult> {
    return this.bounded('create', () => ref.create(data));
  }

  update(ref: DocumentReference, data: DocumentData, precondition: Precondition): Promise<WriteResult> {
    return this.bounded('update', () => ref.update(data, precondition));
  }

  delete(ref: DocumentReference, precondition?: Precondition): Promise<WriteResult> {
    return this.bounded('delete', () => (precondition ? ref.delete(precondition) : ref.delete()));
  }

  get(ref: DocumentReference): Promise<DocumentSnapshot> {
    return this.bounded('get', () => ref.get());
  }

  query(query: Query): Promise<QuerySnapshot> {
    return this.bounded('query', () => query.get());
  }

  private bounded<T>(what: string, call: () => Promise<T>): Promise<T> {
    const ms = callTimeoutMs(this.timeoutMs);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(Object.assign(new Error(`${what} passed its ${ms} ms deadline`), { code: GrpcStatus.DEADLINE_EXCEEDED })),
        ms,
      );
      call().then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
