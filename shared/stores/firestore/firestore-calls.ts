import {AsyncLocalStorage} from 'node:async_hooks';
import {Timestamp} from '@google-cloud/firestore';
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Precondition,
  Query,
  QuerySnapshot,
  WriteBatch,
} from '@google-cloud/firestore';
import {callTimeoutMs, withDeadline} from '../../core/budget';
import {GrpcStatus} from '../common/grpc-errors';

/** What a write tells the backend: the time it took effect (a document's update time, or a delete's commit time). */
export interface Written {
  readonly writeTime: Timestamp;
}

/** The commit answer as the client's GAPIC layer gives it (int64 seconds may come as a string). */
interface CommitResponse {
  readonly writeResults?:
    readonly {readonly updateTime?: ProtoTime | null}[] | null;
  readonly commitTime?: ProtoTime | null;
}
interface ProtoTime {
  readonly seconds?: number | string | null;
  readonly nanos?: number | null;
}
/** WriteBatch's internal commit, which takes the codes to re-send on (none: one try). */
interface CommitOnce {
  _commit(options: {retryCodes: number[]}): Promise<CommitResponse>;
}
/** Where the client builds each request's gax call options (a per-call `timeout` among them). */
interface CallOptionsSource {
  createCallOptions(
    methodName: string,
    retryCodes?: number[],
  ): Record<string, unknown>;
}

/** The deadline of the commit being sent, for the client's call options (see passDeadlines). */
const commitTimeouts = new AsyncLocalStorage<number>();
const deadlinesPassed = new WeakSet<object>();

/**
 * Makes the client send each of our commits with our deadline rather than its own 60 s one, so
 * the deadline travels with the RPC: gRPC cancels the call when it passes, as the Datastore
 * client's does. A commit stuck on the way to a stalled store then reaches it with its
 * cancellation right behind. (The client takes no per-call options on a batch's commit; its
 * `createCallOptions` is where every request's options are built.)
 */
function passDeadlines(firestore: Firestore): void {
  if (deadlinesPassed.has(firestore)) return;
  deadlinesPassed.add(firestore);
  const source = firestore as unknown as Partial<CallOptionsSource>;
  const own = source.createCallOptions;
  if (typeof own !== 'function') return;
  source.createCallOptions = function (this: unknown, methodName, retryCodes) {
    const options = own.call(this, methodName, retryCodes);
    const timeout = commitTimeouts.getStore();
    return methodName === 'commit' && timeout !== undefined
      ? {...options, timeout}
      : options;
  };
}

/**
 * The Firestore calls the STRONG backend makes, each bounded by a deadline: the configured one, cut
 * to what is left of the caller's budget (see shared/core/budget.ts). The high-level client takes no
 * per-call deadline, so the wait is bounded here; a call still in flight when it passes may yet
 * apply, which is what DEADLINE_EXCEEDED tells the retry layer (an unknown outcome).
 */
export class FirestoreCalls {
  constructor(
    readonly firestore: Firestore,
    private readonly timeoutMs: number,
  ) {
    passDeadlines(firestore);
  }

  create(ref: DocumentReference, data: DocumentData): Promise<Written> {
    return this.bounded('create', ms =>
      this.commitOnce(ms, batch => batch.create(ref, data)),
    );
  }

  update(
    ref: DocumentReference,
    data: DocumentData,
    precondition: Precondition,
  ): Promise<Written> {
    return this.bounded('update', ms =>
      this.commitOnce(ms, batch => batch.update(ref, data, precondition)),
    );
  }

  delete(
    ref: DocumentReference,
    precondition?: Precondition,
  ): Promise<Written> {
    return this.bounded('delete', ms =>
      this.commitOnce(ms, batch =>
        precondition ? batch.delete(ref, precondition) : batch.delete(ref),
      ),
    );
  }

  get(ref: DocumentReference): Promise<DocumentSnapshot> {
    return this.bounded('get', () => ref.get());
  }

  query(query: Query): Promise<QuerySnapshot> {
    return this.bounded('query', () => query.get());
  }

  /** The documents in one read, at one read time: a consistent snapshot of them together. */
  getAll(refs: DocumentReference[]): Promise<DocumentSnapshot[]> {
    return this.bounded('get', () => this.firestore.getAll(...refs));
  }

  /** Several writes in one commit, sent once (see commitOnce); `Written` is the first write's. */
  commit(
    what: string,
    write: (batch: WriteBatch) => unknown,
  ): Promise<Written> {
    return this.bounded(what, ms => this.commitOnce(ms, write));
  }

  /**
   * One write, sent once. The client's own commit (behind create, update and delete) re-sends a
   * commit refused as UNAVAILABLE, RESOURCE_EXHAUSTED or ABORTED for up to 10 minutes, long after
   * our deadline gave up on it: a grant the caller was told had failed would land when the store
   * came back, held by nobody. The batch's `_commit` with no retry codes is the same request
   * without the re-sends, as DatastoreRpc asks gax for one try; retries live in shared/core/attempts.ts.
   * (@google-cloud/firestore 8.7, refused connection: UNAVAILABLE at once, and nothing lands
   * once the store is back; see test/functions/client-disconnect.test.ts.)
   */
  private async commitOnce(
    timeoutMs: number,
    write: (batch: WriteBatch) => unknown,
  ): Promise<Written> {
    const batch = this.firestore.batch();
    write(batch);
    const once = (batch as unknown as Partial<CommitOnce>)._commit;
    if (typeof once !== 'function') {
      // A client without it: its public commit, re-sends and all, rather than no write at all.
      const [result] = await batch.commit();
      return {writeTime: (result as Written).writeTime};
    }
    const response = await commitTimeouts.run(timeoutMs, () =>
      once.call(batch, {retryCodes: []}),
    );
    const time = response.writeResults?.[0]?.updateTime ?? response.commitTime;
    if (!time)
      throw new Error('Firestore answered a commit without a commit time');
    return {
      writeTime: new Timestamp(
        Number(time.seconds ?? 0),
        Number(time.nanos ?? 0),
      ),
    };
  }

  private bounded<T>(
    what: string,
    call: (timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    const ms = callTimeoutMs(this.timeoutMs);
    return withDeadline(
      ms,
      () => call(ms),
      () =>
        Object.assign(new Error(`${what} passed its ${ms} ms deadline`), {
          code: GrpcStatus.DEADLINE_EXCEEDED,
        }),
    );
  }
}
