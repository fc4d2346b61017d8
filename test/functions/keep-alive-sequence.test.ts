import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {Agent, request} from 'node:http';
import {connect} from 'node:net';
import {KEEP_ALIVE_TIMEOUT_MS} from '../../functions/http/keep-alive';
import {freePort} from '../../infra/ports';
import {startFunctionServer} from '../support/function-server';
import {FIRESTORE_HOST_VARIABLE} from '../support/global-setup';
import {waitForHttp} from '../support/worker-server';
import {HTTP_FUNCTION_NAMES} from '../support/http-function-names';

const FUNCTIONS = HTTP_FUNCTION_NAMES;
const METHODS = ['POST', 'DELETE', 'PUT', 'PATCH', 'GET', 'OPTIONS', 'HEAD'];
const CONTENT_TYPES = [undefined, 'application/json', 'text/plain'];
const BODIES = [
  Buffer.alloc(0),
  Buffer.from('{"identifier":"keep-alive-sequence","token":"t"}'),
  Buffer.from(`{"padding":"${'z'.repeat(2 * 1024 * 1024)}"}`),
];

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One request on `agent`, whole body in one write; rejects on a reset or a close without an answer. */
function send(
  agent: Agent,
  port: number,
  method: string,
  contentType: string | undefined,
  body: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/',
        agent,
        headers: {
          'Content-Length': body.length,
          ...(contentType === undefined ? {} : {'Content-Type': contentType}),
        },
        timeout: 30_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    call.on('timeout', () => call.destroy(new Error('no answer in 30 s')));
    call.on('error', reject);
    call.end(body);
  });
}

/**
 * What a client whose process stalls sends: one request, then, `pauseMs` later and without having
 * noticed anything in between, a second one on the same connection: a DELETE with no Content-Type
 * and a 2 MB body. Resolves with everything the server sent, and the client's error if any.
 */
function secondRequestAfterPause(
  port: number,
  pauseMs: number,
): Promise<{received: string; error: string | undefined}> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code));
    const done = () =>
      resolve({received: Buffer.concat(chunks).toString('utf8'), error});
    socket.on('close', done);
    socket.write(
      'PATCH / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    const body = BODIES[2] as Buffer;
    setTimeout(() => {
      socket.write(
        `DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.end(body);
    }, pauseMs);
  });
}

/**
 * The functions served as deployed (`functions-framework --target=NAME`, one process each), and
 * one keep-alive client per function sending a sequence over one connection at a time: every
 * method, with no Content-Type, JSON or text, and an empty, small or 2 MB body. Every request gets
 * a JSON answer (HEAD: its status), never a 5xx or a reset, whatever came before it on the connection.
 */
describe('HTTP functions as deployed: a sequence of odd requests on one keep-alive client, each answered', function () {
  this.timeout(300_000);
  const servers: ChildProcess[] = [];
  const ports = new Map<string, number>();

  before(async () => {
    for (const name of FUNCTIONS) {
      const port = await freePort();
      servers.push(
        startFunctionServer(name, port, {
          DATASTORE_EMULATOR_HOST: process.env[FIRESTORE_HOST_VARIABLE],
        }),
      );
      ports.set(name, port);
    }
    await Promise.all([...ports.values()].map(port => waitForHttp(port)));
  });
  after(() => {
    for (const server of servers)
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
  });

  it("a client that stalls past Node's 5 s keep-alive timeout and then sends a 2 MB DELETE on the same connection still gets its answer", async () => {
    // Node's server closed an idle connection after 5 s (+1 s); a stalled client's next request
    // then met a closed socket (EPIPE or ECONNRESET). The pause is far from both bounds.
    const pauseMs = 8_000;
    assert.ok(pauseMs < KEEP_ALIVE_TIMEOUT_MS - 30_000);
    const {received, error} = await secondRequestAfterPause(
      ports.get('releaseLock') as number,
      pauseMs,
    );
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map(
      match => match[1],
    );
    assert.deepEqual(
      statuses,
      ['405', '413'],
      `client error ${error}; received ${received.slice(0, 600)}`,
    );
  });

  for (const name of FUNCTIONS) {
    it(`${name}: ${METHODS.length * CONTENT_TYPES.length * BODIES.length} requests in sequence, 0 resets`, async () => {
      const agent = new Agent({keepAlive: true, maxSockets: 1});
      const problems: string[] = [];
      try {
        for (const method of METHODS)
          for (const contentType of CONTENT_TYPES)
            for (const body of BODIES) {
              const what = `${method}, ${contentType ?? 'no Content-Type'}, ${body.length} bytes`;
              try {
                const answer = await send(
                  agent,
                  ports.get(name) as number,
                  method,
                  contentType,
                  body,
                );
                // Refusals, and cleanupLocks's 200 for an empty JSON body: never a 5xx.
                if (answer.status >= 500)
                  problems.push(`${what}: ${answer.status} ${answer.body}`);
                else if (
                  method !== 'HEAD' &&
                  !/application\/json/.test(answer.contentType)
                )
                  problems.push(`${what}: ${answer.contentType}`);
              } catch (error) {
                const code = (error as NodeJS.ErrnoException).code;
                problems.push(`${what}: ${code ?? ''} ${String(error)}`);
              }
            }
      } finally {
        agent.destroy();
      }
      assert.deepEqual(problems, []);
    });
  }
});
