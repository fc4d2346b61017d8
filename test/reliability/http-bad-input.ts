import type {ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {request} from 'node:http';
import {freePort} from '../../infra/ports';
import {startFunctionServer} from '../support/function-server';
import {waitForHttp} from '../support/worker-server';
import {generateBadRequests, type BadRequest} from './bad-requests';
import type {ScenarioResult} from './report';
import {HTTP_FUNCTION_NAMES} from '../support/http-function-names';

const CONCURRENCY = 8;
/** Growth of the server's resident memory, from after the warm-up to the end, that still counts as bounded. */
const MAX_RSS_GROWTH_MB = 64;

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One request with exactly these bytes and headers (fetch would refuse or rewrite some of them). */
export function send(
  port: number,
  req: {
    path: string;
    method: string;
    contentType: string | undefined;
    body: Buffer;
    headers?: Record<string, string>;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'Content-Length': req.body.length,
      ...(req.headers ?? {}),
    };
    if (req.contentType !== undefined)
      headers['Content-Type'] = req.contentType;
    const call = request(
      {
        host: '127.0.0.1',
        port,
        path: req.path,
        method: req.method,
        headers,
        timeout: 30_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    call.on('timeout', () => call.destroy(new Error('no answer in 30 s')));
    call.on('error', reject);
    call.end(req.body);
  });
}

export function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return match ? Number(match[1]) / 1024 : NaN;
}

const FUNCTIONS = HTTP_FUNCTION_NAMES;

/**
 * The HTTP functions as deployed: one `functions-framework --target=NAME` process each, on free
 * ports; a request goes to the process of its path's function.
 */
async function startDeployedFunctions(env: NodeJS.ProcessEnv) {
  const servers: {name: string; port: number; process: ChildProcess}[] = [];
  for (const name of FUNCTIONS) {
    const port = await freePort();
    servers.push({
      name,
      port,
      process: startFunctionServer(name, port, env),
    });
  }
  await Promise.all(servers.map(server => waitForHttp(server.port)));
  return {
    servers,
    portOf: (path: string) =>
      (servers.find(server => `/${server.name}` === path) as {port: number})
        .port,
    alive: () =>
      servers.every(
        ({process: child}) =>
          child.exitCode === null && child.signalCode === null,
      ),
    /** The largest resident memory among them, in MB. */
    residentMegabytes: () =>
      Math.max(
        ...servers.map(({process: child}) =>
          residentMegabytes(child.pid as number),
        ),
      ),
    stop: () => {
      for (const {process: child} of servers)
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
    },
  };
}

/**
 * Valid acquires until one is answered without a 5xx (for at most 20 s): the process's first store
 * call opens its client and channel, which on a loaded machine takes longer than the 200 ms wait
 * cap set above, and that 503 is about a cold start, not about bad input. (The other functions'
 * store calls are not bound by that cap.)
 */
async function warmUpAcquire(port: number): Promise<void> {
  const body = Buffer.from(
    JSON.stringify({identifier: 'bad-input-warm-up', wait: false}),
  );
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const answer = await send(port, {
      path: '/acquireLock',
      method: 'POST',
      contentType: 'application/json',
      body,
    }).catch(() => undefined);
    if (answer && answer.status < 500) return;
  }
}

function isJsonError(answer: Answer): boolean {
  if (!/application\/json/.test(answer.contentType)) return false;
  try {
    const body = JSON.parse(answer.body) as {error?: unknown};
    return typeof body.error === 'string';
  } catch {
    return false;
  }
}

/**
 * At least `count` generated bad requests against acquireLock, releaseLock, renewLock and cleanupLocks, each
 * served as deployed (its own functions-framework process). Every answer must be a JSON error with a 4xx (or, for the odd
 * but valid ones, any non-5xx answer with a JSON body), never a reset, counted apart (an answer given
 * before a large body was read must still reach the client); the server must stay up and its memory bounded.
 */
export async function httpBadInput(
  firestoreHost: string,
  memcachedHost: string,
  project: string,
  count: number,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  const requests = generateBadRequests(count);
  const deployed = await startDeployedFunctions({
    DATASTORE_EMULATOR_HOST: firestoreHost,
    MEMCACHE_SERVERS: memcachedHost,
    GOOGLE_CLOUD_PROJECT: project,
    LOCKS_HTTP_MAX_WAIT_MS: '200',
  });
  const byStatus = new Map<number, number>();
  const failures: string[] = [];
  const failuresByCategory = new Map<string, number>();
  let resets = 0;
  let rssAfterWarmUp = NaN;
  let rssPeak = 0;
  let next = 0;
  await warmUpAcquire(deployed.portOf('/acquireLock'));
  const warmUp = Math.min(300, Math.floor(requests.length / 5));
  const note = (req: BadRequest, problem: string) => {
    failuresByCategory.set(
      req.category,
      (failuresByCategory.get(req.category) ?? 0) + 1,
    );
    if (failures.length < 12)
      failures.push(
        `${req.category}, ${req.method} ${req.path}, ${req.contentType ?? 'no content type'}, ${req.body.length} bytes (${JSON.stringify(req.body.subarray(0, 60).toString('utf8'))}): ${problem}`,
      );
  };
  try {
    await Promise.all(
      Array.from({length: CONCURRENCY}, async () => {
        for (;;) {
          const index = next++;
          const req = requests[index];
          if (!req) return;
          let answer: Answer;
          try {
            answer = await send(deployed.portOf(req.path), req);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            // A reset (or a write into a closed connection) leaves the client unable to tell "refused" from "the server died".
            if (code === 'ECONNRESET' || code === 'EPIPE') resets++;
            note(req, `no answer: ${code ?? ''} ${(error as Error).message}`);
            continue;
          }
          byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
          const jsonBody =
            isJsonError(answer) ||
            (answer.status < 400 &&
              /application\/json/.test(answer.contentType));
          if (answer.status >= 500)
            note(req, `${answer.status} ${answer.body.slice(0, 200)}`);
          else if (
            req.mustBe4xx &&
            (answer.status < 400 || answer.status >= 500)
          )
            note(
              req,
              `expected a 4xx, got ${answer.status} ${answer.body.slice(0, 200)}`,
            );
          else if (!jsonBody)
            note(
              req,
              `${answer.status} without a JSON body: ${answer.contentType} ${answer.body.slice(0, 200)}`,
            );
          if (index % 50 === 0) {
            const rss = deployed.residentMegabytes();
            rssPeak = Math.max(rssPeak, rss);
            if (index >= warmUp && Number.isNaN(rssAfterWarmUp))
              rssAfterWarmUp = rss;
          }
        }
      }),
    );
    const alive = deployed.alive();
    const rssEnd = alive ? deployed.residentMegabytes() : NaN;
    const growth = rssEnd - rssAfterWarmUp;
    const fiveXX = [...byStatus]
      .filter(([status]) => status >= 500)
      .reduce((sum, [, n]) => sum + n, 0);
    const problems = [...failuresByCategory.values()].reduce(
      (sum, n) => sum + n,
      0,
    );
    const memoryBounded = Number.isFinite(growth) && growth < MAX_RSS_GROWTH_MB;
    const categories = new Map<string, number>();
    for (const req of requests)
      categories.set(req.category, (categories.get(req.category) ?? 0) + 1);
    return {
      size: `${requests.length} requests to the functions as deployed (one functions-framework process each) (${[...categories].map(([c, n]) => `${n} ${c}`).join(', ')}), ${CONCURRENCY} at a time`,
      lost: `${resets} connections reset, ${fiveXX} answers 5xx, ${problems} answers not as required (resets included), servers ${alive ? 'stayed up' : 'DIED'}, memory ${memoryBounded ? 'bounded' : 'NOT bounded'}`,
      passed: problems === 0 && alive && memoryBounded,
      details: [
        `statuses: ${[...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([status, n]) => `${status} x${n}`)
          .join(', ')}`,
        `largest server resident memory: ${rssAfterWarmUp.toFixed(0)} MB after ${warmUp} requests, peak ${rssPeak.toFixed(0)} MB, ${rssEnd.toFixed(0)} MB at the end (growth ${growth.toFixed(0)} MB; bound ${MAX_RSS_GROWTH_MB} MB)`,
        ...[...failuresByCategory].map(
          ([category, n]) => `not as required: ${n} in "${category}"`,
        ),
        ...failures,
      ],
    };
  } finally {
    deployed.stop();
  }
}
