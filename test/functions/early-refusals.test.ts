import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {freePort} from '../../infra/ports';
import {
  LINGER_MAX_BYTES,
  LINGER_MAX_MS,
} from '../../functions/http/lingering-close';
import {
  sendBody,
  sendMany,
  sendRaw,
  type BodyToSend,
  type Outcome,
  type RawOutcome,
} from '../support/body-sender';
import {startFunctionServer} from '../support/function-server';
import {FIRESTORE_HOST_VARIABLE} from '../support/global-setup';
import {waitForHttp} from '../support/worker-server';

const MB = 1024 * 1024;
const TOKEN = 'early-refusals-token';
/** Enough for 2 MB bodies to reach the function's own refusals (405, 415, 401). */
const ROOMY_LIMIT = 4 * MB;
const REQUESTS_PER_PATH = 200;
const CONCURRENCY = 4;

function describeFailure(outcome: Outcome): string {
  return JSON.stringify({...outcome, body: outcome.body?.slice(0, 200)});
}

/** The refusal reached the client whole: status, JSON error, Connection: close, and no reset. */
function assertRefused(outcome: Outcome, status: number, error: string): void {
  assert.equal(
    outcome.error,
    undefined,
    `the client saw ${outcome.error}: ${describeFailure(outcome)}`,
  );
  assert.equal(outcome.status, status, describeFailure(outcome));
  assert.match(String(outcome.headers?.['content-type']), /application\/json/);
  assert.equal(
    (JSON.parse(outcome.body ?? '') as {error?: unknown}).error,
    error,
  );
  assert.equal(outcome.headers?.connection, 'close', describeFailure(outcome));
}

function rawHead(
  method: string,
  contentLength: number | undefined,
  contentType: string | undefined,
): string {
  return [
    `${method} / HTTP/1.1`,
    'Host: 127.0.0.1',
    contentLength === undefined
      ? 'Transfer-Encoding: chunked'
      : `Content-Length: ${contentLength}`,
    ...(contentType ? [`Content-Type: ${contentType}`] : []),
  ].join('\r\n');
}

/** The whole answer arrived: status line, Connection: close, the JSON body; with `cutOff`, the server then cut the connection. */
function assertRawRefusal(
  outcome: RawOutcome,
  status: number,
  error: string,
  cutOff = false,
): void {
  const detail = JSON.stringify({
    ...outcome,
    received: outcome.received.slice(0, 400),
  });
  assert.equal(outcome.status, status, detail);
  const [head = '', body = ''] = outcome.received.split('\r\n\r\n');
  assert.match(head, /\r\nConnection: close\r\n/i, detail);
  assert.equal(
    Number(/\r\nContent-Length: (\d+)/i.exec(head)?.[1]),
    Buffer.byteLength(body),
    detail,
  );
  assert.equal((JSON.parse(body) as {error?: unknown}).error, error);
  if (!cutOff)
    assert.equal(
      outcome.error,
      undefined,
      `the client saw ${outcome.error}: ${detail}`,
    );
}

/**
 * Answers given before a request's body was read, through the real functions-framework CLI and
 * Node's `http` client: the client always reads the refusal (Connection: close, then a lingering
 * close), never a reset, and a body that never ends is cut off within the bounds.
 */
describe('HTTP functions: every early refusal reaches the client (lingering close)', function () {
  this.timeout(180_000);
  const servers: ChildProcess[] = [];
  const output: string[] = [];
  /** LOCKS_MAX_BODY_BYTES at its default (64 KiB): 2 MB bodies are 413. */
  let limitedPort: number;
  /** With an API token and a 4 MiB limit: 2 MB bodies reach 401, 405, 415. */
  let guardedPort: number;

  const start = async (env: Record<string, string>) => {
    const port = await freePort();
    servers.push(
      startFunctionServer(
        'cleanupLocks',
        port,
        {DATASTORE_EMULATOR_HOST: process.env[FIRESTORE_HOST_VARIABLE], ...env},
        output,
      ),
    );
    await waitForHttp(port);
    return port;
  };

  before(async () => {
    limitedPort = await start({});
    guardedPort = await start({
      LOCKS_API_TOKEN: TOKEN,
      LOCKS_MAX_BODY_BYTES: String(ROOMY_LIMIT),
    });
  });
  after(() => {
    for (const server of servers)
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
  });

  const withToken = {'X-Locks-Api-Token': TOKEN};
  const paths: {
    name: string;
    port: () => number;
    spec: Omit<BodyToSend, 'size'>;
    status: number;
    error: string;
  }[] = [
    {
      name: '413, declared',
      port: () => limitedPort,
      spec: {
        declareLength: true,
        headers: {'Content-Type': 'application/json'},
      },
      status: 413,
      error: 'payload_too_large',
    },
    {
      name: '413, chunked',
      port: () => limitedPort,
      spec: {
        declareLength: false,
        headers: {'Content-Type': 'application/json'},
      },
      status: 413,
      error: 'payload_too_large',
    },
    {
      name: '401, no token (body unread: no Content-Type)',
      port: () => guardedPort,
      spec: {declareLength: true},
      status: 401,
      error: 'unauthenticated',
    },
    {
      name: '405, DELETE (body unread: no Content-Type)',
      port: () => guardedPort,
      spec: {method: 'DELETE', declareLength: true, headers: withToken},
      status: 405,
      error: 'method_not_allowed',
    },
    {
      name: '415, POST without Content-Type',
      port: () => guardedPort,
      spec: {declareLength: true, headers: withToken},
      status: 415,
      error: 'invalid_request',
    },
    {
      name: '415, an unsupported charset (the parser refuses it unread)',
      port: () => guardedPort,
      spec: {
        declareLength: true,
        headers: {
          ...withToken,
          'Content-Type': 'application/json; charset=latin1',
        },
      },
      status: 415,
      error: 'invalid_request',
    },
  ];

  for (const path of paths) {
    it(`${REQUESTS_PER_PATH} requests with 2 MB bodies, ${path.name}: every one answered, 0 resets`, async () => {
      const outcomes = await sendMany(REQUESTS_PER_PATH, CONCURRENCY, () =>
        sendBody(path.port(), {...path.spec, size: 2 * MB}),
      );
      const resets = outcomes.filter(outcome => outcome.error !== undefined);
      assert.equal(
        resets.length,
        0,
        `${resets.length} resets, first: ${resets[0] && describeFailure(resets[0])}`,
      );
      for (const outcome of outcomes)
        assertRefused(outcome, path.status, path.error);
    });
  }

  for (const declareLength of [true, false]) {
    for (const contentType of ['application/json', undefined]) {
      for (const pace of ['fast', 'slowly'] as const) {
        const how = `${declareLength ? 'Content-Length' : 'chunked'}, ${contentType ?? 'no Content-Type'}, sent ${pace}`;
        // A chunked body no parser takes is refused at once, its size still unknown: 415, never read.
        const [status, error] =
          !declareLength && contentType === undefined
            ? [415, 'invalid_request']
            : [413, 'payload_too_large'];
        it(`50 MB (${how}): ${status}, read whole by the client, no reset`, async () => {
          const outcome = await sendBody(limitedPort, {
            size: 50 * MB,
            declareLength,
            ...(contentType ? {headers: {'Content-Type': contentType}} : {}),
            // Slowly: 256 KiB every 10 ms, 2 s or more in all; still within the lingering bounds.
            ...(pace === 'slowly' ? {pieceBytes: 256 * 1024, pauseMs: 10} : {}),
          });
          // Node's client stops sending once it has read a Connection: close answer.
          assertRefused(outcome, status, error);
        });

        if (pace === 'fast') {
          it(`50 MB (${how}) from a client that sends it all before it reads: the whole ${status}, no reset`, async () => {
            const outcome = await sendRaw(limitedPort, {
              head: rawHead(
                'POST',
                declareLength ? 50 * MB : undefined,
                contentType,
              ),
              size: 50 * MB,
              chunked: !declareLength,
            });
            assertRawRefusal(outcome, status, error);
            assert.equal(outcome.sent, 50 * MB);
          });
        }
      }
    }
  }

  it('an endless slow body: the 413 arrives, the connection is cut within LINGER_MAX_MS of it, and the server answers others meanwhile', async () => {
    const endless = sendRaw(limitedPort, {
      head: rawHead('POST', undefined, 'application/json'),
      size: Infinity,
      chunked: true,
      pieceBytes: 16 * 1024,
      pauseMs: 50,
    });
    // Meanwhile, on other connections: requests answered while the endless body drains.
    const others: Outcome[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise(resolve => setTimeout(resolve, 1000));
      others.push(
        await sendBody(limitedPort, {
          method: 'GET',
          size: 0,
          declareLength: true,
        }),
      );
    }
    const outcome = await endless;
    assertRawRefusal(outcome, 413, 'payload_too_large', true);
    const closedAfter = outcome.closedAfterAnswerMs as number;
    // Cut off at the bound, not drained for ever; the slack is for a busy machine only.
    assert.ok(
      closedAfter >= LINGER_MAX_MS - 500 && closedAfter < LINGER_MAX_MS + 5000,
      `closed ${closedAfter} ms after the answer`,
    );
    for (const other of others) {
      assert.equal(other.error, undefined, describeFailure(other));
      assert.equal(other.status, 405, describeFailure(other));
    }
  });

  it('a body that goes on past LINGER_MAX_BYTES after the answer is cut off there, the answer sent first', async () => {
    const size = LINGER_MAX_BYTES + 64 * MB;
    const outcome = await sendRaw(limitedPort, {
      head: rawHead('POST', size, 'application/json'),
      size,
      chunked: false,
    });
    assertRawRefusal(outcome, 413, 'payload_too_large', true);
    assert.ok(outcome.sent < size, 'the server read the whole body');
    assert.ok(
      outcome.sent >= LINGER_MAX_BYTES,
      `cut off after ${outcome.sent} bytes, before the bound`,
    );
  });

  it('a non-empty body the framework does not read is refused, never ignored: POST without Content-Type, 2 MB, to cleanupLocks is 415, not a cleanup', async () => {
    const outcome = await sendBody(guardedPort, {
      size: 2 * MB,
      declareLength: true,
      headers: withToken,
    });
    assertRefused(outcome, 415, 'invalid_request');
    assert.match(outcome.body ?? '', /Content-Type: application\/json/);
  });
});
