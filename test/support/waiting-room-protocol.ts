import {randomUUID} from 'node:crypto';
import {performance} from 'node:perf_hooks';
import type {LockBackend} from '../../shared';
import {BackendCallError} from '../../shared/core/errors';
import {hasParked} from '../../shared/waiting-room/state';
import type {
  HandOffGrant,
  ParkedMessage,
  ParkedRecord,
  WaitingRoomStore,
} from '../../shared/waiting-room/types';

/**
 * lockedHandler's use of the waiting room, stripped to the store calls, for the race test: an
 * arrival tries the lock once, parks when it is held, and runs when granted; a wake-up claims and
 * runs; every holder releases through handOff (or, at `plainReleaseRate`, with a plain release
 * that vacates the lock); every dispatch is "published" to this process's own queue. What happens
 * is reported as events, which the test judges. One actor does one thing at a time (like a function
 * instance at concurrency 1); run several for concurrency.
 */
export type RaceEvent =
  | {readonly ev: 'parked'; readonly msg: string; readonly seq: number}
  | {
      readonly ev: 'ran';
      readonly msg: string;
      readonly fence: string;
      readonly start: number;
      readonly end: number;
      readonly via: 'acquire' | 'claim';
    }
  | {readonly ev: 'dispatched'; readonly msg: string; readonly seq: number}
  | {readonly ev: 'dropped'; readonly msg: string; readonly reason: string}
  | {readonly ev: 'ambiguous'; readonly msg: string; readonly call: string}
  | {readonly ev: 'retried'; readonly call: string; readonly error: string};

export interface RaceSettings {
  readonly identifier: string;
  readonly leaseMs: number;
  /** The share of runs after a plain acquire that end with a plain release instead of handOff. */
  readonly plainReleaseRate: number;
}

const now = () => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const ATTEMPTS = 30;

export class RaceActor {
  private readonly queue: ParkedRecord[] = [];
  private readonly room: WaitingRoomStore;
  /** Whether the last call() needed a retry whose first attempt may have applied. */
  private lastCallAmbiguous = false;

  constructor(
    private readonly backend: LockBackend,
    private readonly settings: RaceSettings,
    private readonly emit: (event: RaceEvent) => void,
  ) {
    if (!backend.waitingRoom) throw new Error('no waiting room');
    this.room = backend.waitingRoom;
  }

  /** Wake-ups published and not yet handled. */
  get pending(): number {
    return this.queue.length;
  }

  /** A new message: acquire once, else park (again while the answer is 'free'). */
  async arrive(msg: string, message: ParkedMessage): Promise<void> {
    const parkId = `park-${msg}-${randomUUID()}`;
    for (let round = 0; round < ATTEMPTS; round++) {
      const token = `arrival-${randomUUID()}`;
      const acquired = await this.call('tryAcquire', () =>
        this.backend.tryAcquire({
          identifier: this.settings.identifier,
          token,
          leaseMs: this.settings.leaseMs,
        }),
      );
      if (acquired.acquired) {
        if (hasParked(acquired.record)) {
          // It took a vacant or lapsed lock with messages parked: it must not overtake them.
          const out = await this.call(
            'handOff+park',
            () =>
              this.room.handOff({
                identifier: this.settings.identifier,
                token,
                handOff: this.grant(),
                park: {message, parkId},
              }),
            msg,
          );
          if (!out.released) {
            if (!this.lastCallAmbiguous)
              throw new Error(
                `${msg}: handOff+park after a grant answered released:false`,
              );
            // Its first attempt landed and the head was claimed since: nothing to publish.
            this.emit({ev: 'parked', msg, seq: -1});
            return;
          }
          this.emit({ev: 'parked', msg, seq: out.parkedSeq ?? -1});
          this.publish(out.dispatch);
          return;
        }
        await this.run(msg, acquired.record.fence, 'acquire');
        await this.release(token, acquired.record.revision);
        return;
      }
      const out = await this.call(
        'park',
        () =>
          this.room.park({
            identifier: this.settings.identifier,
            message,
            parkId,
            maxDepth: 100_000,
            handOff: this.grant(),
          }),
        msg,
      );
      if (out.outcome === 'parked') {
        this.emit({ev: 'parked', msg, seq: out.seq});
        this.publish(out.dispatch);
        return;
      }
      if (out.outcome === 'full') throw new Error(`${msg}: the room is full`);
      // 'free': the holder released between our acquire and our park; try again.
    }
    throw new Error(
      `${msg}: neither acquired nor parked in ${ATTEMPTS} rounds`,
    );
  }

  /** A wake-up from elsewhere (the sweep's), to handle like one this actor published. */
  wake(record: ParkedRecord): void {
    this.publish(record);
  }

  /** Handles one published wake-up, if any: claim, run, hand off. */
  async wakeOne(): Promise<boolean> {
    const record = this.queue.shift();
    if (!record) return false;
    const token = `claimer-${randomUUID()}`;
    const out = await this.call('claim', () =>
      this.room.claim({
        identifier: record.identifier,
        seq: record.seq,
        parkId: record.parkId,
        token,
        leaseMs: this.settings.leaseMs,
      }),
    );
    if (!out.claimed) {
      this.emit({ev: 'dropped', msg: record.messageId, reason: out.reason});
      return true;
    }
    await this.run(out.parked.messageId, out.record.fence, 'claim');
    const handed = await this.call('handOff', () =>
      this.room.handOff({
        identifier: this.settings.identifier,
        token,
        handOff: this.grant(),
      }),
    );
    if (!handed.released) {
      if (!this.lastCallAmbiguous)
        throw new Error(
          `${record.messageId}: the claimer's handOff answered released:false`,
        );
      return true;
    }
    this.publish(handed.dispatch);
    return true;
  }

  /** The holder `token` releases (through handOff, or plainly at plainReleaseRate) and publishes what it is handed. */
  async release(token: string, revision?: string): Promise<void> {
    if (Math.random() < this.settings.plainReleaseRate) {
      const outcome = await this.call('release', () =>
        this.backend.release(this.settings.identifier, token),
      );
      if (outcome !== 'released' && !this.lastCallAmbiguous)
        throw new Error(`a plain release answered ${outcome}`);
      return;
    }
    const handed = await this.call('handOff(revision)', () =>
      this.room.handOff({
        identifier: this.settings.identifier,
        token,
        revision,
        handOff: this.grant(),
      }),
    );
    if (!handed.released) {
      // A fast-path delete (or a hand-off) whose answer was lost: its retry finds the lock gone or handed on.
      if (!this.lastCallAmbiguous)
        throw new Error("a holder's handOff answered released:false");
      return;
    }
    this.publish(handed.dispatch);
  }

  private async run(
    msg: string,
    fence: bigint | undefined,
    via: 'acquire' | 'claim',
  ) {
    const start = now();
    await pause(10 + Math.random() * 20);
    this.emit({ev: 'ran', msg, fence: String(fence), start, end: now(), via});
  }

  private publish(record: ParkedRecord | undefined) {
    if (!record) return;
    this.emit({ev: 'dispatched', msg: record.messageId, seq: record.seq});
    this.queue.push(record);
  }

  private grant(): HandOffGrant {
    return {token: `handoff-${randomUUID()}`, leaseMs: this.settings.leaseMs};
  }

  /** One store call, retried the way the library retries (same request), noting answers that may have been lost. */
  async call<T>(
    name: string,
    attempt: () => Promise<T>,
    msg?: string,
  ): Promise<T> {
    this.lastCallAmbiguous = false;
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (
          !(error instanceof BackendCallError) ||
          !error.retryable ||
          tries >= ATTEMPTS
        )
          throw error;
        this.emit({
          ev: 'retried',
          call: name,
          error: error.message.slice(0, 120),
        });
        if (error.mayHaveApplied) {
          this.lastCallAmbiguous = true;
          if (msg !== undefined) this.emit({ev: 'ambiguous', msg, call: name});
        }
        await pause(5 + Math.random() * 20 * Math.min(tries, 5));
      }
    }
  }
}
