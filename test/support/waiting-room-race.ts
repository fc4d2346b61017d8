import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import type {LockBackend} from '../../shared';
import {retrying} from '../../shared/core/attempts';
import {DEFAULT_RETRY_POLICY} from '../../shared/core/backoff';
import type {WaitingRoomStore} from '../../shared/waiting-room/types';
import {runToEnd} from '../../infra/spawn-and-wait';
import {RaceActor, type RaceEvent} from './waiting-room-protocol';
import {TEST_PROJECT} from './global-setup';
import type {StrongTarget} from './strong-targets';

export interface RacePlan {
  readonly namespace: string;
  readonly identifier: string;
  readonly processes: number;
  readonly actorsPerProcess: number;
  /** Per actor. */
  readonly maxArrivals: number;
  readonly durationMs: number;
  readonly leaseMs: number;
  readonly plainReleaseRate: number;
}

/** Child processes have started (and loaded the clients) by then. */
const START_DELAY_MS = 2_500;

/** Runs the race's child processes (test/support/waiting-room-actor.ts) and resolves every event they printed. */
export async function runRace(
  target: StrongTarget,
  plan: RacePlan,
): Promise<RaceEvent[]> {
  const startAt = Date.now() + START_DELAY_MS;
  const results = await Promise.all(
    Array.from({length: plan.processes}, (_, p) =>
      runToEnd(process.execPath, [join(__dirname, 'waiting-room-actor.js')], {
        timeoutMs: START_DELAY_MS + plan.durationMs + 40_000,
        env: {
          ...process.env,
          WR_STORE: target.store,
          WR_HOST: target.host(),
          WR_PROJECT: TEST_PROJECT,
          WR_NAMESPACE: plan.namespace,
          WR_IDENTIFIER: plan.identifier,
          WR_NAME: `p${p}`,
          WR_ACTORS: String(plan.actorsPerProcess),
          WR_START_AT: String(startAt),
          WR_DURATION_MS: String(plan.durationMs),
          WR_MAX_ARRIVALS: String(plan.maxArrivals),
          WR_LEASE_MS: String(plan.leaseMs),
          WR_PLAIN_RELEASE_RATE: String(plan.plainReleaseRate),
        },
      }),
    ),
  );
  for (const result of results)
    if (result.code !== 0)
      throw new Error(
        `a race process exited ${result.code ?? result.signal}:\n${result.stderr.slice(-3000)}\nits last events:\n${result.stdout.slice(-3000)}`,
      );
  if (process.env.WR_DEBUG)
    console.log(
      `race: ${Date.now() - startAt} ms after the start`,
      results.map(r => r.stderr.slice(-500)),
    );
  return results.flatMap(result =>
    result.stdout
      .split('\n')
      .filter(line => line.trim() !== '')
      .map(line => JSON.parse(line) as RaceEvent),
  );
}

export interface RaceVerdict {
  readonly messages: number;
  readonly parked: number;
  readonly dispatched: number;
  readonly retried: number;
}

/**
 * What a race must show: every message ran exactly once (more than once only where a park's answer
 * was lost), no wake-up was dropped, and the runs never overlapped, their fences rising in order.
 */
export function judgeRace(events: readonly RaceEvent[]): RaceVerdict {
  const of = <E extends RaceEvent['ev']>(ev: E) =>
    events.filter((e): e is Extract<RaceEvent, {ev: E}> => e.ev === ev);
  const runs = of('ran');
  const parked = of('parked');
  const ambiguous = new Set(of('ambiguous').map(e => e.msg));
  const messages = new Set([...runs, ...parked].map(e => e.msg));
  const runsOf = new Map<string, number>();
  for (const run of runs) runsOf.set(run.msg, (runsOf.get(run.msg) ?? 0) + 1);
  const neverRan = [...messages].filter(msg => !runsOf.has(msg));
  assert.deepEqual(
    neverRan,
    [],
    'every message ran (none stranded in the room)',
  );
  const twice = [...runsOf].filter(
    ([msg, count]) => count > 1 && !ambiguous.has(msg),
  );
  assert.deepEqual(twice, [], 'no message ran twice');
  const dropped = of('dropped');
  if (ambiguous.size === 0)
    assert.deepEqual(dropped, [], 'every wake-up claimed its lock');
  const ordered = [...runs].sort((a, b) => a.start - b.start);
  for (let i = 1; i < ordered.length; i++) {
    const before = ordered[i - 1] as (typeof runs)[number];
    const after = ordered[i] as (typeof runs)[number];
    assert.ok(
      before.end <= after.start,
      `${after.msg} (fence ${after.fence}) began before ${before.msg} (fence ${before.fence}) ended`,
    );
    assert.ok(
      BigInt(before.fence) < BigInt(after.fence),
      `fence ${after.fence} of ${after.msg} is not above ${before.fence} of ${before.msg}, which ran before it`,
    );
  }
  return {
    messages: messages.size,
    parked: parked.length,
    dispatched: of('dispatched').length,
    retried: of('retried').length,
  };
}

/**
 * The race behind a holder: this process holds the lock while the child processes arrive (so their
 * first messages must park), then hands off and keeps claiming and handing off what it is handed
 * while they go on arriving, parking, running and releasing. When they are done it handles what it
 * still holds, then sweeps (and handles what the sweep hands it) until nothing is stranded.
 * Resolves every event (the children's and its own) and how many records the sweep dispatched.
 */
export async function raceBehindHolder(
  target: StrongTarget,
  backend: LockBackend,
  plan: RacePlan,
): Promise<{events: RaceEvent[]; swept: number}> {
  const room = backend.waitingRoom as WaitingRoomStore;
  const token = `first-holder-${randomUUID()}`;
  const held = await backend.tryAcquire({
    identifier: plan.identifier,
    token,
    leaseMs: plan.leaseMs,
  });
  assert.ok(held.acquired, 'the race lock is free at first');
  let settled = false;
  const racing = runRace(target, plan).finally(() => (settled = true));
  // The legacy emulator may abort this ancestor query (ABORTED, "too much contention") while the
  // children commit on the same entity group; the library's reads retry that, and so does this one.
  const parkedFirst = async () =>
    (
      await retrying(DEFAULT_RETRY_POLICY, () =>
        room.parked(plan.identifier, plan.processes),
      )
    ).length >= plan.processes;
  const waitUntil = Date.now() + START_DELAY_MS + 30_000;
  while (!settled && Date.now() < waitUntil && !(await parkedFirst()))
    await pause(50);
  const own: RaceEvent[] = [];
  const actor = new RaceActor(
    backend,
    {identifier: plan.identifier, leaseMs: plan.leaseMs, plainReleaseRate: 0},
    event => own.push(event),
  );
  await actor.release(token);
  while (!settled) if (!(await actor.wakeOne())) await pause(20);
  const events = await racing;
  while (await actor.wakeOne());
  let swept = 0;
  for (let round = 0; round < 5; round++) {
    const stranded = await actor.call('sweep', () =>
      room.sweep({
        now: new Date(Date.now() + 50),
        handOff: () => ({
          token: `handoff-${randomUUID()}`,
          leaseMs: plan.leaseMs,
        }),
      }),
    );
    if (stranded.length === 0) break;
    swept += stranded.length;
    for (const record of stranded) actor.wake(record);
    while (await actor.wakeOne());
  }
  return {events: [...events, ...own], swept};
}

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
