import {readFileSync} from 'node:fs';
import {request} from 'node:http';
import {join} from 'node:path';
import {freePort} from '../../infra/ports';
import {generateBadRequests, type BadRequest} from './bad-requests';
import {startNodeChild} from './child-process';
import type {ScenarioResult} from './report';

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

/** A Functions Framework host of every function, in its own process, on a free port. */
export async function startFunctionsServer(env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const server = startNodeChild(join(__dirname, 'functions-server.js'), [], {
    ...process.env,
    ...env,
    PORT: String(port),
    NODE_ENV: 'production',
  });
  await server.lineWhere(
    (line): line is {port: number} =>
      typeof (line as {port?: unknown})?.port === 'number',
    30_000,
  );
  return {server, port};
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
 * At least `count` generated bad requests against acquireLock, releaseLock, renewLock and cleanupLocks in one
 * Functions Framework server process. Every answer must be a JSON error with a 4xx (or, for the odd
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
  const {server, port} = await startFunctionsServer({
    DATASTORE_EMULATOR_HOST: firestoreHost,
    MEMCACHE_SERVERS: memcachedHost,
    GOOGLE_CLOUD_PROJECT: project,
    LOCKS_HTTP_MAX_WAIT_MS: '200',
  });
  const pid = server.process.pid as number;
  const byStatus = new Map<number, number>();
  const failures: string[] = [];
  const failuresByCategory = new Map<string, number>();
  let resets = 0;
  let rssAfterWarmUp = NaN;
  let rssPeak = 0;
  let next = 0;
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
            answer = await send(port, req);
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
            const rss = residentMegabytes(pid);
            rssPeak = Math.max(rssPeak, rss);
            if (index >= warmUp && Number.isNaN(rssAfterWarmUp))
              rssAfterWarmUp = rss;
          }
        }
      }),
    );
    const alive =
      server.process.exitCode === null && server.process.signalCode === null;
    const rssEnd = alive ? residentMegabytes(pid) : NaN;
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
      size: `${requests.length} requests (${[...categories].map(([c, n]) => `${n} ${c}`).join(', ')}), ${CONCURRENCY} at a time`,
      lost: `${resets} connections reset, ${fiveXX} answers 5xx, ${problems} answers not as required (resets included), server ${alive ? 'stayed up' : 'DIED'}, memory ${memoryBounded ? 'bounded' : 'NOT bounded'}`,
      passed: problems === 0 && alive && memoryBounded,
      details: [
        `statuses: ${[...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([status, n]) => `${status} x${n}`)
          .join(', ')}`,
        `server resident memory: ${rssAfterWarmUp.toFixed(0)} MB after ${warmUp} requests, peak ${rssPeak.toFixed(0)} MB, ${rssEnd.toFixed(0)} MB at the end (growth ${growth.toFixed(0)} MB; bound ${MAX_RSS_GROWTH_MB} MB)`,
        ...[...failuresByCategory].map(
          ([category, n]) => `not as required: ${n} in "${category}"`,
        ),
        ...failures,
      ],
    };
  } finally {
    server.kill('SIGKILL');
    await server.exited;
  }
}
