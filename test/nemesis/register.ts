import type {Datastore, Key} from '@google-cloud/datastore';
import {fencedUpdate} from '../../shared/stores/datastore';
import {FENCE_PROPERTY, type EntityData} from '../../shared';
import {classifyDatastoreError} from '../../shared/stores/datastore/datastore-errors';
import {
  DatastoreRpc,
  type EntityProto,
} from '../../shared/stores/datastore/datastore-rpc';

/**
 * The register the workers increment: one entity whose `log` lists every increment applied, in
 * the order applied, as [op id, fence] pairs (a JSON string, unindexed). The log, not a count, is
 * what lets the checker say which acknowledged increment was lost, which was applied twice, and
 * whether a write landed below a fence already written.
 *
 * An increment is read-then-write under the lock, never one transaction: only the lock (and, when
 * on, the fence) keeps a holder that was paused or cut off past its lease from overwriting its
 * successor's increments with the stale copy it read.
 *   fenced: `claim` is a fencedUpdate that leaves the data as it is but records the holder's fence
 *     (so no lower fence writes after this read), `append` a fencedUpdate with the new log.
 *   control (fence check off): a plain lookup, then a plain upsert.
 */
export type LogEntry = [op: string, fence: string];

export const REGISTER_KIND = 'NemesisRegister';
const LOG = 'log';

export class Register {
  private readonly rpc: DatastoreRpc;
  readonly key: Key;

  constructor(
    private readonly datastore: Datastore,
    name: string,
    private readonly fenced: boolean,
    rpcTimeoutMs: number,
  ) {
    this.key = datastore.key([REGISTER_KIND, name]);
    this.rpc = new DatastoreRpc(datastore, rpcTimeoutMs);
  }

  /** Reads the log under the lock (and, fenced, bars lower fences from now on). */
  async claim(fence: bigint): Promise<LogEntry[]> {
    if (this.fenced) {
      let log: LogEntry[] = [];
      await fencedUpdate(
        this.datastore,
        this.key,
        fence,
        current => {
          log = logOf(current);
          return current ?? {[LOG]: '[]'};
        },
        {excludeFromIndexes: [LOG]},
      );
      return log;
    }
    try {
      const found = await this.rpc.lookup(await this.keyProto());
      return logOf({
        [LOG]: found?.entity.properties?.[LOG]?.stringValue ?? '[]',
      });
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: false,
        what: 'register lookup',
      });
    }
  }

  /** Writes `read` plus this increment. Rejects as fencedUpdate does (STALE_FENCE, BACKEND_*). */
  async append(fence: bigint, read: LogEntry[], op: string): Promise<void> {
    const log = JSON.stringify([...read, [op, fence.toString()]]);
    if (this.fenced) {
      await fencedUpdate(
        this.datastore,
        this.key,
        fence,
        () => ({[LOG]: log}),
        {excludeFromIndexes: [LOG]},
      );
      return;
    }
    const entity: EntityProto = {
      key: await this.keyProto(),
      properties: {[LOG]: {stringValue: log, excludeFromIndexes: true}},
    };
    try {
      await this.rpc.commit(undefined, [{upsert: entity}]);
    } catch (error) {
      throw classifyDatastoreError(error, {
        write: true,
        what: 'register upsert',
      });
    }
  }

  /** The final state, for the checker. */
  async read(): Promise<{log: LogEntry[]; fence: string | undefined}> {
    const [entity] = await this.datastore.get(this.key, {wrapNumbers: true});
    const data = (entity ?? {}) as Record<string, unknown>;
    const fence = data[FENCE_PROPERTY] as {value?: string} | undefined;
    return {log: logOf(data), fence: fence?.value};
  }

  private async keyProto() {
    const partitionId = await this.rpc.partition(undefined);
    return {
      partitionId,
      path: [{kind: REGISTER_KIND, name: this.key.name as string}],
    };
  }
}

function logOf(data: EntityData | undefined): LogEntry[] {
  const text = data?.[LOG];
  return typeof text === 'string' ? (JSON.parse(text) as LogEntry[]) : [];
}
