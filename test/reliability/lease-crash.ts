import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {Client as MemjsClient} from 'memjs';
import {
  configureLocking,
  Lock,
  LockKind,
  type LockingConfig,
} from '../../shared';
import {intervalOf} from '../../shared/core/lease-keeper';
import {median, round} from '../bench/stats';
import {delay, startNodeChild} from './child-process';
import type {ScenarioResult} from './report';

/** The holder's lease: long enough to see several renewals, short enough for several runs. */
const LEASE_MS = 2000;
const RUNS = 5;

export interface LeaseStore {
  readonly kind: LockKind;
  /** This process's configuration for the store, and a way to let go of its client. */
  connect(): {config: LockingConfig; close(): Promise<void> | void};
  /** How the holder process finds the same store: its environment, as a Cloud Function would. */
  readonly childEnv: NodeJS.ProcessEnv;
}

export function datastoreLeaseStore(host: string, project: string): LeaseStore {
  return {
    kind: LockKind.STRONG,
    connect: () => {
      const datastore = new Datastore({projectId: project, apiEndpoint: host});
      return {config: {datastore}, close: () => datastore.close?.()};
    },
    childEnv: {DATASTORE_EMULATOR_HOST: host, GOOGLE_CLOUD_PROJECT: project},
  };
}

export function memcachedLeaseStore(host: string): LeaseStore {
  return {
    kind: LockKind.WEAK,
    connect: () => {
      const memcache = MemjsClient.create(host, {
        logger: {log: () => undefined},
      });
      return {config: {memcache}, close: () => memcache.close()};
    },
    childEnv: {MEMCACHE_SERVERS: host},
  };
}

interface HolderLine {
  readonly event: string;
  readonly expiresAt?: number;
  readonly fence?: string;
}
const isAcquired = (line: unknown): line is HolderLine =>
  (line as HolderLine)?.event === 'acquired';

interface Run {
  /** From the SIGKILL to the waiting acquirer's grant: what the rest of the system waits. */
  readonly recoveryMs: number;
  /** How much of the lease the holder's last renewal (as it reported it) had left at the kill. */
  readonly leaseLeftMs: number;
  /** From the end of that lease to the grant (negative: taken early, a fault). */
  readonly grantAfterLeaseEndMs: number;
}

/**
 * Crash recovery with leases on one store: a holder process with a 2 s lease renewed in the
 * background (autoRenew) holds past its first lease (so only renewal keeps it), a waiter starts
 * a plain acquire, and the holder is SIGKILLed at a random point of its renewal cycle. The time to
 * the waiter's grant is what a crashed instance costs everyone else: about the lease, at most.
 */
export async function leaseCrash(
  store: LeaseStore,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  const client = store.connect();
  configureLocking(client.config);
  const problems: string[] = [];
  const runs: Run[] = [];
  try {
    for (let index = 0; index < RUNS; index++) {
      const run = await oneCrash(
        store,
        `lease-crash:${process.pid}:${Date.now()}:${index}`,
        problems,
      );
      if (run) runs.push(run);
    }
  } finally {
    configureLocking();
    await client.close();
  }
  const recoveries = runs.map(run => run.recoveryMs);
  const details = [
    `lease ${LEASE_MS} ms, renewed every ~${intervalOf(LEASE_MS)} ms; ${RUNS} runs, each holder SIGKILLed ${LEASE_MS * 1.2}–${LEASE_MS * 1.2 + intervalOf(LEASE_MS)} ms after its grant`,
    runs.length > 0
      ? `time from SIGKILL to the waiter's grant: median ${round(median(recoveries), 0)} ms, min ${Math.min(...recoveries)} ms, max ${Math.max(...recoveries)} ms ` +
        `(expected between the lease less one renewal interval, ${LEASE_MS - intervalOf(LEASE_MS)} ms, and the lease plus one poll)`
      : 'no run completed',
    ...runs.map(
      (run, index) =>
        `run ${index + 1}: lease left at the kill ${run.leaseLeftMs} ms (by the holder's last renewal), granted ${run.recoveryMs} ms after the kill, ` +
        `${run.grantAfterLeaseEndMs} ms after that lease ended`,
    ),
  ];
  return {
    size: `${RUNS} holder processes with a ${LEASE_MS} ms lease and autoRenew, SIGKILLed while holding`,
    lost:
      problems.length === 0
        ? 'nothing: no live lease taken, no grant before the lease ended, every waiter granted'
        : problems.join('; '),
    passed: problems.length === 0 && runs.length === RUNS,
    details,
  };
}

async function oneCrash(
  store: LeaseStore,
  identifier: string,
  problems: string[],
): Promise<Run | undefined> {
  const holder = startNodeChild(
    join(__dirname, '../support/lease-holder.js'),
    [],
    {
      ...process.env,
      ...store.childEnv,
      IDENTIFIER: identifier,
      KIND: store.kind,
      LEASE_MS: String(LEASE_MS),
    },
  );
  try {
    const acquired = await holder.lineWhere(isAcquired, 30_000);
    // Past the first lease, so only renewal keeps the lock; at a random point of the renewal cycle.
    await delay(LEASE_MS * 1.2 + Math.random() * intervalOf(LEASE_MS));
    const intruder = await Lock.acquire(identifier, {
      kind: store.kind,
      wait: false,
    });
    if (intruder) {
      problems.push(
        `${identifier}: a live, renewed lease was taken by a plain acquire`,
      );
      await intruder.release();
      return undefined;
    }
    const waiter = Lock.acquire(identifier, {
      kind: store.kind,
      waitForMs: LEASE_MS * 5,
    });
    holder.kill('SIGKILL');
    const killedAt = Date.now();
    await holder.exited;
    const granted = await waiter;
    const grantedAt = Date.now();
    if (!granted) {
      problems.push(
        `${identifier}: the waiter was not granted within ${LEASE_MS * 5} ms of the kill`,
      );
      return undefined;
    }
    const lastExpiry = Math.max(
      ...(holder.lines as HolderLine[]).flatMap(line =>
        line.expiresAt === undefined ? [] : [line.expiresAt],
      ),
    );
    const grantAfterLeaseEndMs = granted.acquiredAt.getTime() - lastExpiry;
    if (grantAfterLeaseEndMs < 0)
      problems.push(
        `${identifier}: granted ${-grantAfterLeaseEndMs} ms before the crashed holder's lease ended`,
      );
    if (
      acquired.fence !== undefined &&
      !(granted.fence !== undefined && granted.fence > BigInt(acquired.fence))
    ) {
      problems.push(
        `${identifier}: the new fence ${String(granted.fence)} is not above the crashed holder's ${acquired.fence}`,
      );
    }
    if (!(await granted.release()))
      problems.push(
        `${identifier}: the new holder's release did not find its lock`,
      );
    return {
      recoveryMs: grantedAt - killedAt,
      leaseLeftMs: lastExpiry - killedAt,
      grantAfterLeaseEndMs,
    };
  } finally {
    holder.kill('SIGKILL');
  }
}
