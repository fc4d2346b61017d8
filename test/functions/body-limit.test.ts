import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {request as httpRequest} from 'node:http';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {freePort} from '../../infra/ports';
import {startFunctionServer, residentBytes} from '../support/function-server';
import {FIRESTORE_HOST_VARIABLE} from '../support/global-setup';
import {uniqueId} from '../support/ids';
import {waitForHttp} from '../support/worker-server';

const MB = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** How much of the body the client had handed to its socket when the answer arrived. */
  readonly sentBeforeAnswer: number;
}

/**
 * Sends a body of `size` bytes (filler, never held in memory at once) the way a careful client
 * does: the first `firstPart` bytes, then up to PAUSE_MS for an early answer, and only unanswered
 * the rest, reading the answer at the end. (Pausing lets the client read an early answer before
 * the server closes the connection under its next write.) With `declareLength` the size is sent
 * as Content-Length; without it the body is chunked.
 */
function sendLargeBody(
  port: number,
  size: number,
  declareLength: boolean,
  firstPart: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    let pause: NodeJS.Timeout | undefined;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers: {
        'Content-Type': 'application/json',
        ...(declareLength ? {'Content-Length': String(size)} : {}),
      },
    });
    req.on('response', res => {
      answered = true;
      clearTimeout(pause);
      const sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          sentBeforeAnswer,
        });
        req.destroy();
      });
    });
    // An early answer closes the connection: writes still under way then fail, as expected.
    req.on('error', error => (answered ? undefined : reject(error)));
    const send = (until: number, then: () => void) => {
      while (!answered && sent < until) {
        const piece = pieceOfBody(size, sent, until - sent);
        sent += piece.length;
        if (!req.write(piece))
          return void req.once('drain', () => send(until, then));
      }
      if (!answered) then();
    };
    req.flushHeaders();
    send(firstPart, () => {
      pause = setTimeout(() => send(size, () => req.end()), PAUSE_MS);
    });
  });
}

/** A JSON object of `size` bytes, `{"padding": "xxx..."}`, served piece by piece: a server that reads it whole can parse it. */
function pieceOfBody(size: number, offset: number, most: number): Buffer {
  const head = Buffer.from('{"padding": "');
  const tail = Buffer.from('"}');
  if (offset < head.length) return head.subarray(offset, offset + most);
  const tailStart = size - tail.length;
  if (offset >= tailStart)
    return tail.subarray(offset - tailStart, offset - tailStart + most);
  return FILLER.subarray(0, Math.min(FILLER.length, most, tailStart - offset));
}

const FILLER = Buffer.alloc(64 * 1024, 'x');
const PAUSE_MS = 10_000;
const LIMIT = 1000;

/** LOCKS_MAX_BODY_BYTES through the real functions-framework CLI: oversized bodies are refused before they are read. */
describe('HTTP functions: oversized bodies refused before they are read', function () {
  this.timeout(120_000);
  let server: ChildProcess;
  let port: number;
  const output: string[] = [];

  before(async () => {
    port = await freePort();
    server = startFunctionServer(
      'acquireLock',
      port,
      {
        DATASTORE_EMULATOR_HOST: process.env[FIRESTORE_HOST_VARIABLE],
        LOCKS_MAX_BODY_BYTES: String(LIMIT),
      },
      output,
    );
    await waitForHttp(port);
  });
  after(() => {
    if (server.pid) process.kill(-server.pid, 'SIGKILL');
  });

  const assertRefused = (answer: Answer) => {
    assert.equal(answer.status, 413, answer.body);
    assert.match(String(answer.headers['content-type']), /application\/json/);
    assert.equal(JSON.parse(answer.body).error, 'payload_too_large');
    assert.equal(answer.headers.connection, 'close');
  };

  it('50 MB with Content-Length, then 50 MB chunked: 413 payload_too_large answered before the rest is sent; server memory flat', async () => {
    const pid = server.pid as number;
    const before = residentBytes(pid);
    // With Content-Length the headers alone are refused; a chunked body, once past the limit.
    const declared = await sendLargeBody(port, 50 * MB, true, 0);
    const chunked = await sendLargeBody(port, 50 * MB, false, 8 * LIMIT);
    const growth = residentBytes(pid) - before;
    // Answered without the rest of the body; reading either would have buffered 50 MB.
    assert.equal(
      declared.sentBeforeAnswer,
      0,
      'the declared body was answered only after it was sent',
    );
    assert.equal(
      chunked.sentBeforeAnswer,
      8 * LIMIT,
      'the chunked body was answered only after more of it was sent',
    );
    assert.ok(
      growth < 20 * MB,
      `the server grew by ${(growth / MB).toFixed(1)} MB; output: ${output.join('\n')}`,
    );
    assertRefused(declared);
    assertRefused(chunked);
  });

  it('a chunked body under the limit still reaches the function whole', async () => {
    const identifier = uniqueId('chunked');
    const answer = await new Promise<{status: number; body: string}>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/',
            headers: {'Content-Type': 'application/json'},
          },
          res => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            );
          },
        );
        req.on('error', reject);
        // Two writes and no Content-Length: Node sends them chunked. The bulk is whitespace, which
        // JSON allows anywhere between tokens (a field of padding would be an unknown field).
        req.write(
          `{"identifier": ${JSON.stringify(identifier)}, "wait": false`,
        );
        req.end(`${' '.repeat(LIMIT / 4)}}`);
      },
    );
    assert.equal(answer.status, 200, answer.body);
    assert.equal(JSON.parse(answer.body).identifier, identifier);
  });

  it('an event function is not bound by the limit: a Pub/Sub push over it reaches the worker', async () => {
    // Not a valid account event, so the worker itself fails it; what matters is that it got there.
    const data = Buffer.from('x'.repeat(100 * 1024)).toString('base64');
    const response = await request(getTestServer('exampleWorker'))
      .post('/projects/p/topics/t')
      .send({
        message: {data, messageId: '1', publishTime: new Date().toISOString()},
        subscription: 'projects/p/subscriptions/s',
      });
    assert.notEqual(response.status, 413, response.text);
  });
});
