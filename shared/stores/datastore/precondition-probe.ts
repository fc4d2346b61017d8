import {randomUUID} from 'node:crypto';
import type {DatastoreRpc, KeyProto} from './datastore-rpc';
import {encodeLock} from './lock-entity';

/**
 * Whether the store honours version preconditions (`baseVersion`) on delete. With them, a release
 * is one commit that deletes only while the lock is still at the version of our grant.
 *
 * Where the answer is known, nothing is written to find it out: Google's service (any
 * `*.googleapis.com` endpoint, regional ones included) documents `baseVersion` as a precondition
 * that makes a mutation conflict when the entity's version differs, so it is trusted there. The
 * answer is unknown only for another endpoint, which in practice is an emulator (or a proxy in front
 * of one): the legacy Datastore emulator honours them, while the Firestore-in-Datastore-mode
 * emulator (1.19.9) ignores them and deletes whatever is there. Only there is the store probed,
 * once per process, and until a probe answers a release checks ownership in a transaction.
 */
export class PreconditionSupport {
  private verdict: Promise<boolean> | undefined;

  constructor(
    private readonly probe: () => Promise<boolean>,
    known?: boolean,
  ) {
    if (known !== undefined) this.verdict = Promise.resolve(known);
  }

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

/** `true` for Google's own Datastore service, whose documented behaviour needs no probe. */
export function isGoogleEndpoint(host: string | undefined): boolean {
  return host !== undefined && /(^|\.)googleapis\.com$/i.test(host);
}

/**
 * Writes a probe entity twice, then deletes it on its first version: a store that honours the
 * precondition reports a conflict and keeps the entity. Four commits, once per process, on
 * emulators only (see PreconditionSupport). The probe is written as a lock (in the lock kind, with
 * an `acquiredAt`), so one left behind by a failed final delete is found and removed by cleanup
 * like any abandoned lock; its key name cannot collide with a lock's (those are SHA-256 hex).
 */
export async function probeVersionPreconditions(
  rpc: DatastoreRpc,
  partitionId: NonNullable<KeyProto['partitionId']>,
  kind: string,
): Promise<boolean> {
  const key: KeyProto = {
    partitionId,
    path: [{kind, name: `precondition-probe-${randomUUID()}`}],
  };
  const probeLock = (write: string) =>
    encodeLock(key, {
      identifier: 'precondition-probe',
      token: write,
      acquiredAt: new Date(),
      expiresAt: undefined,
    });
  const firstVersion = await rpc.insert(probeLock('first-write'));
  try {
    // A write that changes nothing keeps the version, so the second write must differ.
    await rpc.commit(undefined, [{upsert: probeLock('second-write')}]);
    const [staleDelete] = await rpc.commit(undefined, [
      {delete: key, baseVersion: firstVersion.toString()},
    ]);
    return staleDelete?.conflict === true;
  } finally {
    await rpc.commit(undefined, [{delete: key}]).catch(() => undefined);
  }
}
