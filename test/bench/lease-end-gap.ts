/**
 * `node dist/test/bench/lease-end-gap.js [trials]`: how late a holder's signal aborts after its
 * lease's end, per store, when nothing renews the lease any more. Starts its own emulators and
 * memcached. Four ways renewals stop:
 *   - autoRenew: false: the grant's lease runs out;
 *   - stopRenewing(): after a renewal, with another instance already waiting for the lock (how
 *     long after the abort its grant came back is printed too: it must never come first);
 *   - lockedHandler's deadline (lease 300 ms, deadline 400 ms);
 *   - a pause: the event loop blocked 700 ms (as SIGSTOP or a long GC would), then the signal read
 *     at once: whether that first look already says aborted (the gap is then 0 by construction).
 * The gap is `abort event time - expiresAt` on this host's clock. Prints a table; no assertion.
 */
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import {Client as MemjsClient} from 'memjs';
import {startEmulator} from '../../infra/emulators';
import {startMemcached} from '../../infra/memcached';
import type {RunningService} from '../../infra/processes';
import {
  configureLocking,
  Lock,
  LockKind,
  type LockingConfig,
} from '../../shared';
import {lockedHandler} from '../../shared/pubsub';
import {whenAborted} from '../support/when-aborted';
import {percentile, round} from './stats';

const PROJECT = 'lease-end-gap';
const LEASE_MS = 300;
let sequence = 0;
const id = (label: string) => `gap-${label}-${process.pid}-${++sequence}`;
const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

interface Store {
  readonly name: string;
  readonly kind: LockKind;
  readonly config: LockingConfig;
}

/** One trial: the abort's lateness past the lease's end (ms), and what else the mode observed. */
interface Trial {
  readonly gapMs: number;
  /** stopRenewing: the waiting instance's grant came back this long after the abort. */
  readonly grantAfterAbortMs?: number;
}

/** Resolves when `held`'s signal aborts, with how late that was past its lease's end. */
async function gapOf(held: Lock): Promise<number> {
  await whenAborted(held.signal);
  const abortedAt = Date.now();
  return abortedAt - (held.expiresAt as Date).getTime();
}

const MODES: Record<string, (kind: LockKind) => Promise<Trial>> = {
  'autoRenew: false': async kind => {
    const held = await Lock.acquire(id('plain'), {kind, leaseMs: LEASE_MS});
    if (!held) throw new Error('not acquired');
    const gapMs = await gapOf(held);
    await held.release();
    return {gapMs};
  },
  'stopRenewing()': async kind => {
    const identifier = id('stop');
    const held = await Lock.acquire(identifier, {
      kind,
      leaseMs: LEASE_MS,
      autoRenew: true,
    });
    if (!held) throw new Error('not acquired');
    await delay(LEASE_MS / 2);
    held.stopRenewing();
    let abortedAt = 0;
    const gap = gapOf(held).then(ms => ((abortedAt = Date.now()), ms));
    const next = await Lock.acquire(identifier, {
      kind,
      waitForMs: 10 * LEASE_MS,
    });
    const grantedAt = Date.now();
    const gapMs = await gap;
    await next?.release();
    await held.release();
    return {gapMs, grantAfterAbortMs: grantedAt - abortedAt};
  },
  'lockedHandler deadline': async kind => {
    const identifier = id('handler');
    let gapMs = Number.NaN;
    await lockedHandler(
      {identifier: () => identifier, kind, leaseMs: LEASE_MS, deadlineMs: 400},
      async (_event, held) => {
        gapMs = await gapOf(held);
      },
    )({id: identifier}).catch(() => undefined); // rejects LOCK_LOST, as it should
    return {gapMs};
  },
  'pause (event loop blocked 700 ms)': async kind => {
    // No renewal: one paused mid-transaction would stall the Firestore-mode emulator's release.
    const held = await Lock.acquire(id('pause'), {kind, leaseMs: LEASE_MS});
    if (!held) throw new Error('not acquired');
    await delay(LEASE_MS / 3);
    for (const until = Date.now() + 700; Date.now() < until;);
    const firstLook = held.signal.aborted;
    await held.release();
    return {gapMs: firstLook ? 0 : Number.POSITIVE_INFINITY};
  },
};

async function main(): Promise<void> {
  const trials = Number(process.argv[2] ?? 30);
  const services: RunningService[] = [];
  try {
    const started = await Promise.allSettled([
      startEmulator('datastore-legacy'),
      startEmulator('datastore-firestore'),
      startEmulator('firestore-native'),
      startMemcached(),
    ]);
    for (const outcome of started)
      if (outcome.status === 'fulfilled') services.push(outcome.value);
    const failed = started.find(outcome => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [legacy, firestoreMode, native, memcached] = services as [
      RunningService,
      RunningService,
      RunningService,
      RunningService,
    ];
    Object.assign(process.env, {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      METADATA_SERVER_DETECTION: 'none',
    });
    const memcache = MemjsClient.create(memcached.host, {
      logger: {log: () => undefined},
    });
    const stores: Store[] = [
      {
        name: 'legacy Datastore emulator',
        kind: LockKind.STRONG,
        config: {
          datastore: new Datastore({
            projectId: PROJECT,
            apiEndpoint: legacy.host,
          }),
        },
      },
      {
        name: 'Firestore in Datastore mode',
        kind: LockKind.STRONG,
        config: {
          datastore: new Datastore({
            projectId: PROJECT,
            apiEndpoint: firestoreMode.host,
          }),
        },
      },
      {
        name: 'Firestore native',
        kind: LockKind.STRONG,
        config: {
          firestore: new Firestore({
            projectId: PROJECT,
            host: native.host,
            ssl: false,
            customHeaders: {Authorization: 'Bearer owner'},
          }),
        },
      },
      {name: 'memcached', kind: LockKind.WEAK, config: {memcache}},
    ];
    console.log(
      `lease ${LEASE_MS} ms, ${trials} trials per cell; gap = abort - lease end (ms): median / p90 / max`,
    );
    for (const store of stores) {
      configureLocking(store.config);
      // Warm the client: a cold first call is slower than these leases.
      await (await Lock.acquire(id('warm'), {kind: store.kind}))?.release();
      for (const [mode, trial] of Object.entries(MODES)) {
        const results: Trial[] = [];
        for (let i = 0; i < trials; i++) results.push(await trial(store.kind));
        const gaps = results.map(result => result.gapMs);
        const grants = results.flatMap(result =>
          result.grantAfterAbortMs === undefined
            ? []
            : [result.grantAfterAbortMs],
        );
        console.log(
          `${store.name.padEnd(28)} ${mode.padEnd(34)} ${[50, 90, 100]
            .map(p => round(percentile(gaps, p), 1))
            .join(' / ')}${
            grants.length
              ? `; next grant after the abort: min ${round(Math.min(...grants), 1)} ms`
              : ''
          }`,
        );
      }
    }
    memcache.close();
  } finally {
    configureLocking();
    await Promise.all(services.map(service => service.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
