import {appendFileSync} from 'node:fs';
import type {ChildProcess} from 'node:child_process';
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {freePort} from '../../infra/ports';
import {startFunctionServer} from '../support/function-server';
import type {AppliedLedger} from '../support/worker-applied';
import {
  startWorkerInstance,
  type WorkerInstance,
} from '../support/worker-instance';
import {ORDERED_WORKER, waitForHttp} from '../support/worker-server';
import {delay} from './child-process';

/** A STRONG store the waiting room runs on, as the workers and the test reach it. */
export interface RoomStore {
  readonly name: string;
  /** What a worker or the cleanup function needs to reach the store (LOCKS_STRONG_STORE, the emulator host). */
  readonly env: Record<string, string>;
  readonly ledger: AppliedLedger;
}

/** The Pub/Sub emulator the workers use. */
export interface RoomPubSub {
  readonly client: PubSub;
  /** Given when it is not this process's PUBSUB_EMULATOR_HOST (a dedicated emulator). */
  readonly host?: string;
}

/** One JSON log line of a worker or the cleanup function, with who wrote it. */
export type LogLine = Record<string, unknown> & {
  readonly from: string;
  readonly message?: string;
};

export interface AccountEvent {
  readonly account: string;
  readonly amount: number;
  readonly eventId: string;
  /** Time inside the lock before the write (see test/support/worker-ordered.ts). */
  readonly workMs?: number;
}

/**
 * The waiting room's end-to-end rig: single-purpose instances of the ordered worker
 * (test/support/worker-ordered.ts), each a Functions Framework server with its own work and retry
 * topics (test/support/worker-instance.ts), the cleanup function as the scheduler calls it, and
 * every log line they write, parsed. Published message ids are kept, so lockedHandler's lines
 * (which name message ids) can be read as event ids.
 */
export class RoomRig {
  readonly lines: LogLine[] = [];
  readonly instances: WorkerInstance[] = [];
  /** Pub/Sub message id -> event id, for every message the rig published. */
  readonly eventOfMessage = new Map<string, string>();
  private cleanupServer: ChildProcess | undefined;
  private cleanupUrl: string | undefined;
  private cleaning: Promise<void> | undefined;
  private stopCleaning = false;
  /** What each cleanup call answered (or the error), in order. */
  readonly cleanups: {at: number; answer: string}[] = [];

  private constructor(
    readonly store: RoomStore,
    readonly pubsub: RoomPubSub,
    readonly run: string,
  ) {}

  static async start(
    store: RoomStore,
    pubsub: RoomPubSub,
    label: string,
    instanceEnvs: readonly Record<string, string>[],
  ): Promise<RoomRig> {
    const run = `${label}-${process.pid}-${Date.now()}`;
    const rig = new RoomRig(store, pubsub, run);
    try {
      // Started side by side; each settles into rig.instances at its own index.
      const started = await Promise.allSettled(
        instanceEnvs.map((env, index) =>
          startWorkerInstance(
            pubsub.client,
            `${run}-${index}`,
            {...store.env, ...rig.pubsubEnv(), ...env},
            undefined,
            {
              variant: ORDERED_WORKER,
              onLine: line => rig.collect(`instance-${index}`, line),
            },
          ),
        ),
      );
      for (const result of started)
        if (result.status === 'fulfilled') rig.instances.push(result.value);
      const failed = started.find(result => result.status === 'rejected');
      if (failed) throw failed.reason;
      await rig.warmUp();
    } catch (error) {
      await rig.stop();
      throw error;
    }
    return rig;
  }

  /**
   * One event per instance, on an account of its own, applied before the scenario starts: a fresh
   * process's first store calls (channel set-up, the precondition probe) can take seconds on a busy
   * 2-core machine, longer than the scenarios' 2 s leases.
   */
  private async warmUp(): Promise<void> {
    const accounts = await Promise.all(
      this.instances.map(async (instance, index) => {
        const account = `${this.run}-warm-${index}`;
        await instance.work.publishMessage({
          json: {account, amount: 1, eventId: `${account}-event`},
        });
        return account;
      }),
    );
    await until(
      async () =>
        (
          await Promise.all(
            accounts.map(account => this.store.ledger.account(account)),
          )
        ).every(state => state !== undefined),
      60_000,
      'every instance warmed up',
    );
  }

  private pubsubEnv(): Record<string, string> {
    return this.pubsub.host ? {PUBSUB_EMULATOR_HOST: this.pubsub.host} : {};
  }

  private collect(from: string, line: string): void {
    if (!line.startsWith('{')) return;
    try {
      this.lines.push({
        from,
        at: Date.now(),
        ...(JSON.parse(line) as Record<string, unknown>),
      });
    } catch {
      // A partial line: not one of lockedHandler's.
    }
  }

  /** Publishes one event to `instance`'s work topic (through `topic` when given: a client made after a restart). */
  async publish(
    instance: number,
    event: AccountEvent,
    topic?: Topic,
  ): Promise<string> {
    const target = topic ?? (this.instances[instance] as WorkerInstance).work;
    const id = await target.publishMessage({json: event});
    this.eventOfMessage.set(id, event.eventId);
    return id;
  }

  /** lockedHandler's lines with this message, for this identifier. */
  linesOf(message: string, identifier?: string): LogLine[] {
    return this.lines.filter(
      line =>
        line.message === message &&
        (identifier === undefined || line.identifier === identifier),
    );
  }

  /** The event ids parked on `identifier`, each at the seq of its first park, in seq order. */
  parkOrder(identifier: string): {eventId: string; seq: number}[] {
    const firstSeq = new Map<string, number>();
    for (const line of this.linesOf('lockedHandler: parked', identifier)) {
      const eventId = this.eventOfMessage.get(String(line.messageId));
      if (eventId !== undefined && !firstSeq.has(eventId))
        firstSeq.set(eventId, Number(line.seq));
    }
    return [...firstSeq]
      .map(([eventId, seq]) => ({eventId, seq}))
      .sort((a, b) => a.seq - b.seq);
  }

  /** Message ids that ran (took a free lock) or parked: handled by lockedHandler at least once. */
  accepted(identifier: string): Set<string> {
    return new Set(
      this.lines
        .filter(
          line =>
            line.identifier === identifier &&
            (line.message === 'lockedHandler: parked' ||
              (line.message === 'lockedHandler: running' &&
                line.outcome === 'ran')),
        )
        .map(line => String(line.messageId)),
    );
  }

  /** Resolves once `messageId` is running, or rejects after `timeoutMs`. */
  async untilRunning(messageId: string, timeoutMs: number): Promise<void> {
    await until(
      () =>
        this.lines.some(
          line =>
            line.message === 'lockedHandler: running' &&
            line.messageId === messageId,
        ),
      timeoutMs,
      `message ${messageId} running`,
    );
  }

  /** Serves the cleanup function (`cleanupLocks`, as Cloud Scheduler calls it) against the rig's store and Pub/Sub. */
  async startCleanupFunction(): Promise<void> {
    const port = await freePort();
    this.cleanupServer = startFunctionServer(
      'cleanupLocks',
      port,
      {...this.store.env, ...this.pubsubEnv()},
      line => this.collect('cleanup', line),
    );
    await waitForHttp(port);
    this.cleanupUrl = `http://127.0.0.1:${port}/`;
  }

  /** One cleanup call: the scheduled backstop. Resolves its answer's body (or the error). */
  async cleanup(): Promise<string> {
    if (!this.cleanupUrl) throw new Error('no cleanup function started');
    let answer: string;
    try {
      const response = await fetch(this.cleanupUrl, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: '{}',
        signal: AbortSignal.timeout(20_000),
      });
      answer = `${response.status} ${await response.text()}`;
    } catch (error) {
      answer = `error ${(error as Error).message}`;
    }
    this.cleanups.push({at: Date.now(), answer});
    return answer;
  }

  /** Calls cleanup every `everyMs` until the rig stops: a scheduler much faster than once a minute, to keep the test short. */
  cleanupEvery(everyMs: number): void {
    this.cleaning ??= (async () => {
      while (!this.stopCleaning) {
        await this.cleanup();
        await delay(everyMs);
      }
    })();
  }

  /** Cleanup calls that dispatched something: how many messages they dispatched in all. */
  dispatchedByCleanup(): number {
    return this.cleanups.reduce((sum, {answer}) => {
      const match = /"dispatched":(\d+)/.exec(answer);
      return sum + (match ? Number(match[1]) : 0);
    }, 0);
  }

  async stop(): Promise<void> {
    // For a look at a failed run: every line, as collected.
    if (process.env.WAITING_ROOM_LOG)
      appendFileSync(
        process.env.WAITING_ROOM_LOG,
        this.lines.map(line => JSON.stringify(line)).join('\n') + '\n',
      );
    this.stopCleaning = true;
    await this.cleaning;
    for (const instance of this.instances) instance.signal('SIGKILL');
    if (this.cleanupServer?.pid) {
      try {
        process.kill(-this.cleanupServer.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(100);
  }
}
