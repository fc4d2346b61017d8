import {join} from 'node:path';
import {spawnChild, type SpawnedChild} from '../../infra/spawn-and-wait';
import {summariseGrants, type ContentionSummary} from './contention-stats';
import {addCounts} from './weak-clients';

/**
 * WEAK contention as Cloud Run functions meet it: PROCESSES single-request instances (one waiter
 * each, as an instance at concurrency 1), started together behind a barrier, each taking one lock
 * ITERATIONS times and doing WORK_MS of work inside it (contended-worker.ts).
 */
export interface WeakContendedRun extends ContentionSummary {
  readonly store: 'memcached' | 'valkey';
  readonly processes: number;
  readonly iterations: number;
  readonly askedWorkMs: number;
  /** Requests the store received, all processes together, per grant (each grant one hand-off). */
  readonly requestsPerGrant: number;
  /** What those requests were, all processes together. */
  readonly requestCounts: Record<string, number>;
}

const DEADLINE_MS = 120_000;

export async function weakContended(options: {
  readonly store: 'memcached' | 'valkey';
  readonly host: string;
  readonly processes: number;
  readonly iterations: number;
  readonly workMs: number;
  readonly identifier: string;
}): Promise<WeakContendedRun> {
  const {store, processes, iterations, workMs} = options;
  const ready: Promise<void>[] = [];
  const children: SpawnedChild[] = [];
  const stdout: string[] = [];
  for (let i = 0; i < processes; i++) {
    let markReady: () => void = () => undefined;
    ready.push(new Promise<void>(resolve => (markReady = resolve)));
    const index = i;
    stdout.push('');
    children.push(
      spawnChild(process.execPath, [join(__dirname, 'contended-worker.js')], {
        env: {
          ...process.env,
          CONTENDER: `weak-${store}`,
          STORE_HOST: options.host,
          IDENTIFIER: options.identifier,
          WAITERS: '1',
          ITERATIONS: String(iterations),
          CRITICAL_MS: String(workMs),
          BARRIER: '1',
        },
        onOutput: (chunk, stream) => {
          if (stream !== 'stdout') return;
          stdout[index] += chunk;
          if (chunk.includes('"ready"')) markReady();
        },
      }),
    );
  }
  const timer = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, DEADLINE_MS);
  try {
    const failed = Promise.race(
      children.map(child =>
        child.closed.then(status => {
          throw new Error(
            `a ${store} worker ended early (${status.code ?? status.signal}): ${child.output()}`,
          );
        }),
      ),
    );
    // It also rejects once the workers end normally, when nobody waits on it any more.
    failed.catch(() => undefined);
    await Promise.race([Promise.all(ready), failed]);
    for (const child of children) child.kill('SIGUSR1');
    const statuses = await Promise.all(children.map(child => child.closed));
    statuses.forEach((status, index) => {
      if (status.code !== 0)
        throw new Error(
          `a ${store} worker exited ${status.code ?? status.signal}: ${children[index]?.output()}`,
        );
    });
  } finally {
    clearTimeout(timer);
    for (const child of children) child.kill('SIGKILL');
  }
  const lines = stdout.flatMap(text => text.split('\n').filter(Boolean));
  const grants = lines
    .filter(line => line.includes('"grantedAt"'))
    .map(line => JSON.parse(line) as {grantedAt: number; releasedAt: number});
  const summaries = lines
    .filter(line => line.includes('"failures"'))
    .map(
      line =>
        JSON.parse(line) as {
          requests: number;
          requestCounts: Record<string, number>;
        },
    );
  const summary = summariseGrants(grants);
  return {
    ...summary,
    store,
    processes,
    iterations,
    askedWorkMs: workMs,
    requestsPerGrant:
      summaries.reduce((sum, worker) => sum + worker.requests, 0) /
      summary.grants,
    requestCounts: addCounts(summaries.map(worker => worker.requestCounts)),
  };
}
