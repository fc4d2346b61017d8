import {rmSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {DEFAULT_RETRY_POLICY, DEFAULT_WAIT_BACKOFF} from '../../shared';
import {BUDGET_GRACE_MS} from '../../shared/core/budget';
import {backoffCeilingMs} from '../../shared/core/backoff';
import {
  decodeLock,
  DEFAULT_ENTITY_KIND,
  lockKey,
} from '../../shared/stores/datastore/lock-entity';
import {checkHistory, type CheckBounds, type CheckResult} from './checker';
import type {FaultRecord, History, OpEvent} from './history';
import {NemesisNetwork} from './network';
import {Register, type LogEntry} from './register';
import {
  buildSchedule,
  describeFault,
  type Fault,
  type Schedule,
} from './schedule';
import {NEMESIS_PROJECT, NemesisStore} from './store';
import {WorkerPool} from './worker-pool';

export interface RunOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly workers: number;
  readonly leaseMs: number;
  /** false: the control run, with the fence check off in the register write. */
  readonly fenced: boolean;
  readonly log?: (line: string) => void;
}

export interface RunResult {
  readonly options: Omit<RunOptions, 'log'>;
  readonly schedule: Schedule;
  readonly history: History;
  readonly log: LogEntry[];
  readonly check: CheckResult;
  readonly bounds: CheckBounds;
  readonly netem: boolean;
  /** The tag in every name the run gave its namespaces and links (all removed by the time it resolves). */
  readonly networkTag: string;
  readonly storeRestarts: {downMs: number; burntVersions: string}[];
  readonly wallMs: number;
}

const RPC_TIMEOUT_MS = 1500;
const WAIT_FOR_MS = 4000;
const WORK_MS_MAX = 300;
const PAUSE_AIM_MS = 4000;

/** One retry cycle of a store call: every try at its deadline, plus the backoff ceilings between them. */
export function retryCycleMs(rpcTimeoutMs = RPC_TIMEOUT_MS): number {
  let cycle = DEFAULT_RETRY_POLICY.maxAttempts * rpcTimeoutMs;
  for (let step = 0; step < DEFAULT_RETRY_POLICY.maxAttempts - 1; step++)
    cycle += backoffCeilingMs(DEFAULT_RETRY_POLICY, step);
  return cycle;
}

export function boundsFor(leaseMs: number): CheckBounds {
  return {
    // The acquire's wait (overrun by at most two budget graces), the read and the write, the work between.
    opBoundMs:
      WAIT_FOR_MS +
      2 * BUDGET_GRACE_MS +
      2 * retryCycleMs() +
      WORK_MS_MAX +
      1000,
    // The lease of a holder that vanished, one retry cycle, one wait poll.
    recoveryBoundMs: leaseMs + retryCycleMs() + DEFAULT_WAIT_BACKOFF.maxMs,
  };
}

/**
 * One nemesis run: the network, the store, the workers, the schedule applied, then every fault
 * healed and a quiet spell long enough to judge recovery, then the workers stopped and the history
 * checked against the register. Everything it created is removed on the way out, whatever happens.
 */
export async function runNemesis(options: RunOptions): Promise<RunResult> {
  const say = options.log ?? (() => undefined);
  const schedule = buildSchedule(options);
  const bounds = boundsFor(options.leaseMs);
  const started = performance.now();
  const now = () => performance.now() - started;
  const history: History = {ops: [], faults: [], incarnations: []};
  const storeRestarts: RunResult['storeRestarts'] = [];
  const lockId = `nemesis-${options.seed}`;
  const registerName = `register-${options.seed}`;

  const network = await NemesisNetwork.create(options.workers);
  const clockDir = await mkdtemp(join(tmpdir(), 'nemesis-clocks-'));
  const removeClocks = () => rmSync(clockDir, {recursive: true, force: true});
  process.once('exit', removeClocks);
  let store: NemesisStore | undefined;
  let pool: WorkerPool | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    say(
      `network ${network.tag}: bridge ${network.bridge} ${network.storeAddress}/24, ${options.workers} namespaces; tc netem ${network.netem ? 'available' : 'missing (delay as a tbf rate limit, loss as iptables random drop)'}`,
    );
    store = await NemesisStore.start(network.storeAddress);
    const activeStore = store;
    say(`store: legacy Datastore emulator on ${store.host}`);
    const register = new Register(
      store.datastore,
      registerName,
      options.fenced,
      RPC_TIMEOUT_MS,
    );
    pool = new WorkerPool(
      network,
      {
        clockOffsetsMs: schedule.clockOffsetsMs,
        clockDir,
        env: {
          PATH: process.env.PATH,
          METADATA_SERVER_DETECTION: 'none',
          GOOGLE_CLOUD_PROJECT: NEMESIS_PROJECT,
          DATASTORE_EMULATOR_HOST: store.host,
          LOCK_ID: lockId,
          REGISTER: registerName,
          FENCED: options.fenced ? '1' : '0',
          LEASE_MS: String(options.leaseMs),
          WAIT_FOR_MS: String(WAIT_FOR_MS),
          RPC_TIMEOUT_MS: String(RPC_TIMEOUT_MS),
          MAX_OPS: '100000',
          // A bound of its own, should this run die without stopping it.
          RUN_FOR_MS: String(options.durationMs + 120_000),
        },
      },
      history,
      now,
    );
    const workers = pool;
    workers.startAll();

    const highestFence = async (): Promise<bigint> => {
      let highest = 0n;
      for (const event of history.ops)
        if (event.fence !== undefined && BigInt(event.fence) > highest)
          highest = BigInt(event.fence);
      const stored = (await register.read()).fence;
      if (stored !== undefined && BigInt(stored) > highest)
        highest = BigInt(stored);
      const found = await activeStore.rpc.lookup(
        lockKey(
          await activeStore.rpc.partition(undefined),
          DEFAULT_ENTITY_KIND,
          lockId,
        ),
      );
      if (found)
        for (const value of [found.version, decodeLock(found).fence as bigint])
          if (value > highest) highest = value;
      return highest;
    };

    /**
     * The worker holding the lock between its read of the register and its write, waiting up to
     * PAUSE_AIM_MS for one: a holder frozen there is the case fences exist for.
     */
    const holderMidWrite = async (): Promise<number | undefined> => {
      const deadline = now() + PAUSE_AIM_MS;
      for (;;) {
        const last = new Map<string, OpEvent>();
        for (const event of history.ops) last.set(event.op, event);
        const working = [...last.values()].filter(
          event => event.t === 'claimed' && workers.isRunning(event.worker),
        );
        if (working.length > 0 || now() > deadline)
          return working[working.length - 1]?.worker;
        await new Promise(resolve => setTimeout(resolve, 5));
      }
    };

    const apply = async (
      fault: Fault,
      record: FaultRecord,
    ): Promise<() => Promise<void>> => {
      const worker = fault.worker ?? 0;
      switch (fault.kind) {
        case 'partition':
          await network.partition(worker);
          return () => network.heal(worker);
        case 'degrade':
          await network.degrade(worker, {
            delayMs: fault.delayMs ?? 0,
            jitterMs: fault.jitterMs ?? 0,
            lossPercent: fault.lossPercent ?? 0,
          });
          return () => network.restore(worker);
        case 'pause': {
          const target = (await holderMidWrite()) ?? worker;
          workers.signal(target, 'SIGSTOP');
          record.detail = `worker ${target} paused (SIGSTOP, then SIGCONT)${target === worker ? '' : ', holding the lock between its read and its write'}`;
          return async () => void workers.signal(target, 'SIGCONT');
        }
        case 'kill':
          await workers.kill(worker);
          return async () => workers.start(worker);
        case 'clock':
          workers.setClock(worker, fault.jumpMs ?? 0);
          return async () => workers.setClock(worker, 0);
        case 'store': {
          // Nobody reaches the store until its versions are past every fence handed out (see NemesisStore).
          for (let index = 0; index < options.workers; index++)
            await network.partition(index);
          const downAt = now();
          // Read while the store is up and nobody can reach it; the margin covers a commit already in flight.
          const past = (await highestFence()) + 100n;
          await activeStore.down();
          const stoppedAt = now();
          return async () => {
            const healAt = now();
            await activeStore.up();
            const upAt = now();
            const burnt = await activeStore.burnVersionsPast(past);
            storeRestarts.push({
              downMs: Math.round(now() - downAt),
              burntVersions: burnt.toString(),
            });
            say(
              `store back: stopping took ${Math.round(stoppedAt - downAt)} ms, starting ${Math.round(upAt - healAt)} ms, burning ${burnt} versions ${Math.round(now() - upAt)} ms`,
            );
            for (let index = 0; index < options.workers; index++)
              await network.heal(index);
          };
        }
      }
    };

    // Faults run on their own timers and may overlap; each heals itself after its duration.
    const settled: Promise<void>[] = [];
    for (const fault of schedule.faults) {
      settled.push(
        new Promise<void>(resolve => {
          timers.push(
            setTimeout(() => {
              const record: FaultRecord = {
                id: fault.id,
                kind: fault.kind,
                ...(fault.worker === undefined ? {} : {worker: fault.worker}),
                start: now(),
                detail: describeFault(fault),
              };
              history.faults.push(record);
              apply(fault, record).then(
                heal => {
                  say(
                    `${(record.start / 1000).toFixed(1)} s  fault ${fault.id}: ${record.detail} for ${fault.durationMs} ms`,
                  );
                  timers.push(
                    setTimeout(() => {
                      heal()
                        .catch((error: unknown) =>
                          say(
                            `heal of fault ${fault.id} failed: ${String(error)}`,
                          ),
                        )
                        .finally(() => {
                          record.end = now();
                          resolve();
                        });
                    }, fault.durationMs),
                  );
                },
                (error: unknown) => {
                  say(`fault ${fault.id} failed to apply: ${String(error)}`);
                  record.end = now();
                  resolve();
                },
              );
            }, fault.atMs),
          );
        }),
      );
    }
    await new Promise(resolve =>
      timers.push(setTimeout(resolve, options.durationMs)),
    );
    await Promise.all(settled);
    // Quiet: every fault healed. Recovery is judged over this spell.
    await new Promise(resolve =>
      setTimeout(resolve, bounds.recoveryBoundMs + 3000),
    );
    const endedAt = now();
    await workers.stopAll(bounds.opBoundMs + 5000);
    const {log} = await register.read();
    const check = checkHistory(history, log, bounds, endedAt);
    return {
      options: {
        seed: options.seed,
        durationMs: options.durationMs,
        workers: options.workers,
        leaseMs: options.leaseMs,
        fenced: options.fenced,
      },
      schedule,
      history,
      log,
      check,
      bounds,
      netem: network.netem,
      networkTag: network.tag,
      storeRestarts,
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await pool?.stopAll(2000).catch(() => undefined);
    await store?.stop().catch(() => undefined);
    await network.remove();
    process.removeListener('exit', removeClocks);
    await rm(clockDir, {recursive: true, force: true});
  }
}
