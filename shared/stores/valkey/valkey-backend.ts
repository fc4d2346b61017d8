import type {
  AcquireOutcome,
  AcquireRequest,
  ListQuery,
  LockBackend,
  LockRecord,
  ReleaseOutcome,
  RenewOutcome,
  RenewRequest,
} from '../../core/backend';
import {LockKind} from '../../core/kinds';
import type {Takeover} from '../../core/taking-rules';
import type {LockWatch} from '../../core/backend';
import {collectListing} from '../common/listing';
import {LockWatchers} from './lock-watchers';
import {lockKeyPattern, lockKeys} from './lock-keys';
import {decodeStoredLock} from './lock-value';
import {ACQUIRE, RELEASE, RENEW} from './lua-scripts';
import type {ValkeyCalls} from './valkey-calls';
import {classifyValkeyError} from './valkey-errors';

/**
 * WEAK locks on Valkey (or Redis 7): best effort, as on memcached (a restart without persistence,
 * a failover to a replica that had not caught up, or an eviction can let a second holder in), but
 * every operation is one round trip judged on the server's clock, grants carry a fence, and the
 * locks can be listed.
 */
export class ValkeyLockBackend implements LockBackend {
  readonly kind = LockKind.WEAK;
  private readonly watchers: LockWatchers;

  constructor(
    readonly calls: ValkeyCalls,
    private readonly keyPrefix: string,
    /** Called before the first operation's reply is used: the eviction policy check. */
    private readonly firstUse: () => void = () => undefined,
  ) {
    this.watchers = new LockWatchers(calls, keyPrefix);
  }

  /** Push hand-off to waiters, by SUBSCRIBE on the lock's channel (see lock-watchers.ts). */
  watch(
    identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch {
    return this.watchers.watch(identifier, onChange, stealAfterMs);
  }

  async tryAcquire(request: AcquireRequest): Promise<AcquireOutcome> {
    const keys = lockKeys(this.keyPrefix, request.identifier);
    const reply = await this.call(true, () =>
      this.calls.script(
        ACQUIRE,
        [keys.lock, keys.fence],
        [
          request.token,
          request.identifier,
          Date.now(),
          optional(request.leaseMs),
          optional(request.stealAfterMs),
          KEY_GRACE_MS,
        ],
      ),
    );
    const [granted, value, takeover] = reply as [number, unknown, unknown];
    const stored = decodeStoredLock(value);
    if (granted === 1 && stored) {
      return {
        acquired: true,
        record: stored.record,
        ...(takeover === '' ? {} : {takeover: takeover as Takeover}),
      };
    }
    return {acquired: false, holder: stored?.record ?? null};
  }

  async release(identifier: string, token: string): Promise<ReleaseOutcome> {
    const keys = lockKeys(this.keyPrefix, identifier);
    const reply = await this.call(true, () =>
      this.calls.script(RELEASE, [keys.lock], [token, keys.channel]),
    );
    return reply as ReleaseOutcome;
  }

  async renew(request: RenewRequest): Promise<RenewOutcome> {
    const keys = lockKeys(this.keyPrefix, request.identifier);
    const reply = await this.call(true, () =>
      this.calls.script(
        RENEW,
        [keys.lock],
        [request.token, Date.now(), optional(request.leaseMs), KEY_GRACE_MS],
      ),
    );
    const stored = decodeStoredLock(reply);
    return stored ? {renewed: true, record: stored.record} : {renewed: false};
  }

  async peek(identifier: string): Promise<LockRecord | null> {
    return (await this.read(identifier))?.record ?? null;
  }

  /**
   * The fence of the grant `token` holds, or null when it holds no lock here: the one Valkey adds
   * to WEAK locks (strictly increasing per identifier while the server keeps its data; it repeats
   * after a restart without persistence). Kept off `Lock#fence`, whose type says WEAK grants have
   * none, so code written for memcached and Valkey alike cannot mistake one for STRONG's.
   */
  async fenceOf(identifier: string, token: string): Promise<bigint | null> {
    const stored = await this.read(identifier);
    return stored?.record.token === token ? stored.fence : null;
  }

  /**
   * Every lock under the prefix, by SCAN (a cursor walk that never blocks the server), read
   * MGET a page at a time, oldest grant first. SCAN has no order, so all of them are read before
   * the oldest are kept: this is for operators' tools, not hot paths.
   */
  async list(query: ListQuery): Promise<LockRecord[]> {
    const records: LockRecord[] = [];
    let cursor = '0';
    do {
      const [next, keys] = (await this.call(false, () =>
        this.calls.command(
          'SCAN',
          cursor,
          'MATCH',
          lockKeyPattern(this.keyPrefix),
          'COUNT',
          SCAN_COUNT,
        ),
      )) as [string, string[]];
      cursor = next;
      if (keys.length === 0) continue;
      const values = (await this.call(false, () =>
        this.calls.command('MGET', ...keys),
      )) as unknown[];
      for (const value of values) {
        const record = decodeStoredLock(value)?.record;
        if (record) records.push(record);
      }
    } while (cursor !== '0');
    records.sort((a, b) => a.acquiredAt.getTime() - b.acquiredAt.getTime());
    return collectListing(oneAtATime(records), query);
  }

  private async read(identifier: string) {
    const value = await this.call(false, () =>
      this.calls.command('GET', lockKeys(this.keyPrefix, identifier).lock),
    );
    return decodeStoredLock(value);
  }

  private async call<T>(
    write: boolean,
    operation: () => Promise<T>,
  ): Promise<T> {
    this.firstUse();
    try {
      return await operation();
    } catch (error) {
      throw classifyValkeyError(error, {write});
    }
  }
}

/**
 * How long a lock's key outlives its lease (or its holder's own steal time): an expired lease
 * stays visible to peek and releasable by its holder for this long, as on memcached. The rule
 * itself is applied to the millisecond on the server's clock.
 */
export const KEY_GRACE_MS = 1000;

const SCAN_COUNT = 300;

function optional(value: number | undefined): string | number {
  return value === undefined ? '' : value;
}

async function* oneAtATime(
  records: readonly LockRecord[],
): AsyncIterable<readonly LockRecord[]> {
  yield records;
}
