import { randomUUID } from 'node:crypto';
import type { DatastoreRpc, KeyProto } from './datastore-rpc';

/**
 * Whether the store honours version preconditions (`baseVersion`) on delete, found out once per
 * process. With them, a release is one commit that deletes only while the lock is still at the
 * version of our grant. Datastore documents them, and the legacy emulator honours them; the
 * Firestore-in-Datastore-mode emulator (1.19.9) ignores them and deletes whatever is there, so a
 * release on a store that fails the probe checks ownership in a transaction instead.
 */
export class PreconditionSupport {
  private verdict: Promise<boolean> | undefined;

  constructor(private readonly probe: () => Promise<boolean>) {}

  /** Resolves the verdict, probing first if no probe has answered yet. */
  honoured(): Promise<boolean> {
    this.verdict ??= this.probe().catch(() => {
      // No verdict (the store failed): be careful this time, and ask again next time.
      this.verdict = undefined;
      return false;
    });
    return this.verdict;
  }

  /**
   * Starts the probe without waiting for it, after a first acquire, so the first release usually
   * finds the verdict ready. Never at load: a cold start that takes no lock pays nothing.
   */
  probeSoon(): void {
    if (!this.verdict) void this.honoured();
  }
}

/**
 * Writes a probe entity twice, then deletes it on its first version: a store that honours the
 * precondition reports a conflict and keeps the entity. Four commits, once per process.
 */
export async function probeVersionPreconditions(rpc: DatastoreRpc, partitionId: KeyProto['partitionId'], kind: string): Promise<boolean> {
  const key: KeyProto = { partitionId, path: [{ kind, name: `precondition-probe-${randomUUID()}` }] };
  const firstVersion = await rpc.insert({ key, properties: { write: { integerValue: 1 } } });
  try {
    // A write that changes nothing keeps the version, so the second write must differ.
    await rpc.commit(undefined, [{ upsert: { key, properties: { write: { integerValue: 2 } } } }]);
    const [staleDelete] = await rpc.commit(undefined, [{ delete: key, baseVersion: firstVersion.toString() }]);
    return staleDelete?.conflict === true;
  } finally {
    await rpc.commit(undefined, [{ delete: key }]).catch(() => undefined);
  }
}
