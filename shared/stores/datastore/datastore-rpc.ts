import type {Datastore, DatastoreClient} from '@google-cloud/datastore';
import type {google} from '@google-cloud/datastore/build/protos/protos';
import {callTimeoutMs, withCleanupGrace} from '../../core/budget';
import {dateOfTimestamp, timestampOfDate} from './timestamps';

export type EntityProto = google.datastore.v1.IEntity;
export type KeyProto = google.datastore.v1.IKey;
export type MutationProto = google.datastore.v1.IMutation;
export type TransactionId = Uint8Array | string;

export interface MutationOutcome {
  /** The entity's version after the mutation. */
  readonly version: bigint;
  /** The mutation's version precondition did not hold, so it was not applied. */
  readonly conflict: boolean;
}

export interface FoundEntity {
  readonly entity: EntityProto;
  /** The store's version of the entity: strictly increasing across every write, delete included. */
  readonly version: bigint;
  /** Server time of the entity's last write, where the store reports it (Firestore mode does). */
  readonly updatedAt: Date | undefined;
  /** Server time the read was made at, where the store reports it. */
  readonly readAt: Date | undefined;
}

/**
 * The Datastore RPCs the STRONG backend uses, one method each, straight onto the generated
 * client of the caller's `Datastore` (so its channel, credentials and database are shared).
 *
 * The high-level Datastore API is not used for two reasons measured on the emulators: it hides
 * entity versions (our fence), and a `Transaction.get()` before `run()` begins the transaction
 * inside the lookup (`newTransaction`), which the Firestore-in-Datastore-mode emulator 1.19.9
 * mishandles: the commit times out and the entity stays locked for good. Transactions here are
 * always begun explicitly.
 *
 * Every call has a deadline (the configured one, cut to what is left of the caller's budget: see
 * shared/core/budget.ts) and no client-side retry: retries live in shared/core/attempts.ts.
 */
export class DatastoreRpc {
  private target: Promise<Target> | undefined;

  constructor(
    readonly datastore: Datastore,
    private readonly timeoutMs: number,
  ) {}

  /** The host the client talks to: Google's service, or an emulator (DATASTORE_EMULATOR_HOST, apiEndpoint). */
  endpoint(): string | undefined {
    const options = this.datastore.options as {
      apiEndpoint?: string;
      servicePath?: string;
    };
    return (options.apiEndpoint ?? options.servicePath)
      ?.replace(/^https?:\/\//, '')
      .replace(/:\d+$/, '');
  }

  /** The partition (project, database, namespace) keys are made in. */
  async partition(
    namespace: string | undefined,
  ): Promise<google.datastore.v1.IPartitionId> {
    const {projectId} = await this.connect();
    return {
      projectId,
      databaseId: this.datastore.options.databaseId ?? '',
      namespaceId: namespace ?? '',
    };
  }

  /** A non-transactional insert: fails with ALREADY_EXISTS (6) when the key exists. Resolves the new version. */
  async insert(entity: EntityProto): Promise<bigint> {
    const [result] = await this.commit(undefined, [{insert: entity}]);
    return (result as MutationOutcome).version;
  }

  async lookup(
    key: KeyProto,
    transaction?: TransactionId,
  ): Promise<FoundEntity | null> {
    return (await this.lookupAll([key], transaction))[0] ?? null;
  }

  /**
   * The entities found among `keys`, in no particular order; missing keys are left out. Keys the
   * store deferred (a response too large: parked messages are up to ~1 MiB each) are asked again.
   */
  async lookupAll(
    keys: KeyProto[],
    transaction?: TransactionId,
  ): Promise<FoundEntity[]> {
    const found: FoundEntity[] = [];
    let pending = keys;
    for (
      let round = 0;
      pending.length > 0 && round < MAX_LOOKUP_ROUNDS;
      round++
    ) {
      const response = await this.call('lookup', {
        keys: pending,
        ...(transaction === undefined ? {} : {readOptions: {transaction}}),
      });
      found.push(
        ...foundEntities(response.found, dateOfTimestamp(response.readTime)),
      );
      pending = response.deferred ?? [];
    }
    return found;
  }

  /** One page of the keys of `kind` entities whose `property` is before `before`. */
  async keysBefore(
    partitionId: google.datastore.v1.IPartitionId,
    kind: string,
    property: string,
    before: Date,
    limit: number,
    startCursor?: Uint8Array | string,
  ): Promise<{
    keys: KeyProto[];
    endCursor: Uint8Array | string | undefined;
    more: boolean;
  }> {
    const batch = await this.query({
      partitionId,
      query: {
        kind: [{name: kind}],
        projection: [{property: {name: '__key__'}}],
        filter: {
          propertyFilter: {
            property: {name: property},
            op: 'LESS_THAN',
            value: {timestampValue: timestampOfDate(before)},
          },
        },
        limit: {value: limit},
        ...(startCursor ? {startCursor} : {}),
      },
    });
    const keys = (batch?.entityResults ?? []).flatMap(result =>
      result.entity?.key ? [result.entity.key] : [],
    );
    return {
      keys,
      endCursor: batch?.endCursor ?? undefined,
      more: hasMoreResults(batch),
    };
  }

  /** One page of `kind` entities in ascending order of `property` (a full read: for listing, not for locking). */
  async entitiesByProperty(
    partitionId: google.datastore.v1.IPartitionId,
    kind: string,
    property: string,
    limit: number,
    startCursor?: Uint8Array | string,
  ): Promise<{
    found: FoundEntity[];
    endCursor: Uint8Array | string | undefined;
    more: boolean;
  }> {
    const batch = await this.query({
      partitionId,
      query: {
        kind: [{name: kind}],
        order: [{property: {name: property}, direction: 'ASCENDING'}],
        limit: {value: limit},
        ...(startCursor ? {startCursor} : {}),
      },
    });
    return entityPage(batch);
  }

  /** One page of the `kind` children of `ancestor`, in key order (an ancestor query: strongly consistent). */
  async childEntities(
    ancestor: KeyProto,
    kind: string,
    limit: number,
    startCursor?: Uint8Array | string,
  ): Promise<{
    found: FoundEntity[];
    endCursor: Uint8Array | string | undefined;
    more: boolean;
  }> {
    const batch = await this.query({
      partitionId: ancestor.partitionId ?? null,
      query: {
        kind: [{name: kind}],
        filter: {
          propertyFilter: {
            property: {name: '__key__'},
            op: 'HAS_ANCESTOR',
            value: {keyValue: ancestor},
          },
        },
        order: [{property: {name: '__key__'}, direction: 'ASCENDING'}],
        limit: {value: limit},
        ...(startCursor ? {startCursor} : {}),
      },
    });
    return entityPage(batch);
  }

  async beginTransaction(): Promise<TransactionId> {
    const response = await this.call('beginTransaction', {
      transactionOptions: {readWrite: {}},
    });
    if (!response.transaction)
      throw new Error('beginTransaction returned no transaction');
    return response.transaction;
  }

  /** Commits `mutations`, in `transaction` when given; resolves each mutation's outcome. */
  async commit(
    transaction: TransactionId | undefined,
    mutations: MutationProto[],
  ): Promise<MutationOutcome[]> {
    const response = await this.call('commit', {
      mutations,
      ...(transaction === undefined
        ? {mode: 'NON_TRANSACTIONAL'}
        : {mode: 'TRANSACTIONAL', transaction}),
    });
    return (response.mutationResults ?? []).map(result => ({
      version: BigInt(String(result.version ?? 0)),
      conflict: result.conflictDetected === true,
    }));
  }

  /** With a grace past the caller's budget: a transaction left open stalls every writer of its entities. */
  async rollback(transaction: TransactionId): Promise<void> {
    await withCleanupGrace(() => this.call('rollback', {transaction}));
  }

  /**
   * One query batch, holding only this client's database's entities: the legacy Datastore emulator
   * (CLI 528) answers a query on one database with the matching entities of every database, and a
   * lookup or commit of such a key fails with "mismatched databases within request".
   */
  private async query(
    request: Omit<RequestOf<'runQuery'>, 'projectId'>,
  ): Promise<google.datastore.v1.IQueryResultBatch | null | undefined> {
    const {batch} = await this.call('runQuery', request);
    const databaseId = this.datastore.options.databaseId ?? '';
    const results = batch?.entityResults;
    if (!batch || !results) return batch;
    const own = results.filter(
      result =>
        (result.entity?.key?.partitionId?.databaseId ?? '') === databaseId,
    );
    return own.length === results.length
      ? batch
      : {...batch, entityResults: own};
  }

  private async call<M extends keyof Rpcs>(
    method: M,
    request: Omit<RequestOf<M>, 'projectId'>,
  ): Promise<ResponseOf<M>> {
    const {client, projectId, callOptions} = await this.connect();
    const databaseId = this.datastore.options.databaseId;
    const fullRequest = {
      ...request,
      projectId,
      ...(databaseId ? {databaseId} : {}),
    };
    const invoke = client[method].bind(client) as unknown as (
      request: RequestOf<M>,
      options: CallOptions,
    ) => Promise<[ResponseOf<M>, ...unknown[]]>;
    const [response] = await invoke(fullRequest as RequestOf<M>, {
      ...callOptions,
      timeout: callTimeoutMs(callOptions.timeout),
    });
    return response;
  }

  private connect(): Promise<Target> {
    this.target ??= this.resolveTarget();
    // A failed resolution (no project configured yet) must not be cached for good.
    this.target.catch(() => (this.target = undefined));
    return this.target;
  }

  private async resolveTarget(): Promise<Target> {
    const projectId = await this.datastore.getProjectId();
    // Reuse the client the Datastore object caches under the same name, so both share a channel.
    const clients = this.datastore.clients_ as Map<string, unknown>;
    let client = clients.get('DatastoreClient') as DatastoreClient | undefined;
    if (!client) {
      const generated = await import('@google-cloud/datastore');
      client = new generated.DatastoreClient({...this.datastore.options});
      clients.set('DatastoreClient', client);
    }
    const callOptions: CallOptions = {
      timeout: this.timeoutMs,
      // No retry codes: gax makes exactly one try with the deadline above.
      retry: {retryCodes: []},
      otherArgs: {
        headers: {'google-cloud-resource-prefix': `projects/${projectId}`},
      },
    };
    return {client, projectId, callOptions};
  }
}

/** Rounds of a lookup whose keys the store keeps deferring before the rest count as missing. */
const MAX_LOOKUP_ROUNDS = 5;

interface Target {
  readonly client: DatastoreClient;
  readonly projectId: string;
  readonly callOptions: CallOptions;
}

/** Each RPC used here, with its request and response types. */
interface Rpcs {
  lookup: [
    google.datastore.v1.ILookupRequest,
    google.datastore.v1.ILookupResponse,
  ];
  runQuery: [
    google.datastore.v1.IRunQueryRequest,
    google.datastore.v1.IRunQueryResponse,
  ];
  beginTransaction: [
    google.datastore.v1.IBeginTransactionRequest,
    google.datastore.v1.IBeginTransactionResponse,
  ];
  commit: [
    google.datastore.v1.ICommitRequest,
    google.datastore.v1.ICommitResponse,
  ];
  rollback: [
    google.datastore.v1.IRollbackRequest,
    google.datastore.v1.IRollbackResponse,
  ];
}
type RequestOf<M extends keyof Rpcs> = Rpcs[M][0];
type ResponseOf<M extends keyof Rpcs> = Rpcs[M][1];

/** The gax call options this module sets (google-gax itself is not a direct dependency). */
interface CallOptions {
  timeout: number;
  retry: unknown;
  otherArgs: {headers: Record<string, string>};
}

/** Entity results as FoundEntity, all read at `readAt`; results without an entity are left out. */
function foundEntities(
  results: google.datastore.v1.IEntityResult[] | null | undefined,
  readAt: Date | undefined,
): FoundEntity[] {
  return (results ?? []).flatMap(result =>
    result.entity
      ? [
          {
            entity: result.entity,
            version: BigInt(String(result.version ?? 0)),
            updatedAt: dateOfTimestamp(result.updateTime),
            readAt,
          },
        ]
      : [],
  );
}

/** A batch can stop short of the limit (the emulators return 300) with more to come. */
function hasMoreResults(
  batch: google.datastore.v1.IQueryResultBatch | null | undefined,
): boolean {
  const state = String(batch?.moreResults ?? 'NO_MORE_RESULTS');
  return state === 'NOT_FINISHED' || state === 'MORE_RESULTS_AFTER_LIMIT';
}

/** A query's page of whole entities, with where the next page starts. */
function entityPage(
  batch: google.datastore.v1.IQueryResultBatch | null | undefined,
): {
  found: FoundEntity[];
  endCursor: Uint8Array | string | undefined;
  more: boolean;
} {
  return {
    found: foundEntities(
      batch?.entityResults,
      dateOfTimestamp(batch?.readTime),
    ),
    endCursor: batch?.endCursor ?? undefined,
    more: hasMoreResults(batch),
  };
}
