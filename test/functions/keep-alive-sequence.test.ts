import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {Agent, request} from 'node:http';
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
