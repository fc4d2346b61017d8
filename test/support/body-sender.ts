import {request as httpRequest} from 'node:http';
import {connect} from 'node:net';

export interface BodyToSend {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Bytes of body (filler; never held in memory at once). Infinity: an endless body. */
  readonly size: number;
  /** Sent as Content-Length; without it the body is chunked. */
  readonly declareLength: boolean;
  /** Bytes per write, and the pause after each (0: as fast as the socket takes them). */
  readonly pieceBytes?: number;
  readonly pauseMs?: number;
}

export interface Outcome {
  readonly status?: number | undefined;
  readonly headers?: Record<string, string | string[] | undefined> | undefined;
  readonly body?: string | undefined;
  /** The client's error (a reset, EPIPE, a bare close), if any, and how long after the answer it came. */
  readonly error?: string | undefined;
  readonly errorAfterAnswerMs?: number | undefined;
  /** Bytes handed to the socket in all, and when the answer arrived. */
  readonly sent: number;
  readonly sentBeforeAnswer?: number | undefined;
  /** When the connection closed, in ms after the answer. */
  readonly closedAfterAnswerMs?: number | undefined;
}

const FILLER = Buffer.alloc(1024 * 1024, 'x');

/**
 * Sends a body the way an ordinary client does with Node's `http`: it keeps writing all of it
 * whatever the server answers meanwhile, and reads the answer as it comes. Settles once the
 * answer has been read and the body sent, or the connection has closed; never rejects, so a
 * reset is counted, not thrown.
 */
export function sendBody(port: number, spec: BodyToSend): Promise<Outcome> {
  const pieceBytes = spec.pieceBytes ?? FILLER.length;
  return new Promise(resolve => {
    let sent = 0;
    let answeredAt: number | undefined;
    let sentBeforeAnswer: number | undefined;
    let answer:
      {status: number; headers: Outcome['headers']; body: string} | undefined;
    let error: string | undefined;
    let errorAt: number | undefined;
    let bodyDone = false;
    let closed = false;
    let settled = false;
    const since = (at: number | undefined) =>
      at === undefined || answeredAt === undefined
        ? undefined
        : at - answeredAt;
    const settle = (closedAt?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(pause);
      req.destroy();
      resolve({
        ...answer,
        error,
        errorAfterAnswerMs: since(errorAt),
        sent,
        sentBeforeAnswer,
        closedAfterAnswerMs: since(closedAt),
      });
    };
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: spec.method ?? 'POST',
      path: spec.path ?? '/',
      headers: {
        ...(spec.headers ?? {}),
        ...(spec.declareLength ? {'Content-Length': String(spec.size)} : {}),
      },
    });
    req.on('response', res => {
      answeredAt = Date.now();
      sentBeforeAnswer = sent;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        if (bodyDone) settle();
      });
      res.on('error', () => undefined);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (error === undefined) {
        error = e.code ?? e.message;
        errorAt = Date.now();
      }
    });
    req.on('close', () => {
      closed = true;
      settle(Date.now());
    });
    let pause: NodeJS.Timeout | undefined;
    const send = () => {
      while (!closed && sent < spec.size) {
        const piece = FILLER.subarray(
          0,
          Math.min(pieceBytes, spec.size - sent),
        );
        sent += piece.length;
        const more = req.write(piece);
        if (spec.pauseMs) {
          pause = setTimeout(send, spec.pauseMs);
          return;
        }
        if (!more) return void req.once('drain', send);
      }
      if (closed) return;
      req.end(() => {
        bodyDone = true;
        if (answer) settle();
      });
    };
    req.flushHeaders();
    send();
  });
}

/** Runs `count` sends, `concurrency` at a time. */
export async function sendMany(
  count: number,
  concurrency: number,
  one: () => Promise<Outcome>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let started = 0;
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (started < count) {
        started++;
        outcomes.push(await one());
      }
    }),
  );
  return outcomes;
}

export interface RawOutcome {
  /** The server's bytes, as received. */
  readonly received: string;
  readonly status?: number | undefined;
  readonly error?: string | undefined;
  readonly sent: number;
  /** When the connection closed (or reset), in ms after the first byte of the answer. */
  readonly closedAfterAnswerMs?: number | undefined;
}

/**
 * A client that writes its whole body whatever the server answers meanwhile, and reads only what
 * arrives (as many non-Node clients do, and as an endless or careless uploader does): over a bare
 * socket, because Node's `http` client itself stops sending once it has read a `Connection: close`
 * answer. Settles when the server closes the connection, or after the body and the answer.
 */
export function sendRaw(
  port: number,
  spec: {
    head: string;
    size: number;
    chunked: boolean;
    pieceBytes?: number;
    pauseMs?: number;
  },
): Promise<RawOutcome> {
  const pieceBytes = spec.pieceBytes ?? FILLER.length;
  return new Promise(resolve => {
    const chunks: Buffer[] = [];
    let sent = 0;
    let answeredAt: number | undefined;
    let error: string | undefined;
    let done = false;
    let pause: NodeJS.Timeout | undefined;
    const socket = connect(port, '127.0.0.1');
    const settle = () => {
      if (done) return;
      done = true;
      clearTimeout(pause);
      const received = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      socket.destroy();
      resolve({
        received,
        ...(status ? {status: Number(status)} : {}),
        error,
        sent,
        closedAfterAnswerMs:
          answeredAt === undefined ? undefined : Date.now() - answeredAt,
      });
    };
    socket.on('data', (chunk: Buffer) => {
      answeredAt ??= Date.now();
      chunks.push(chunk);
    });
    socket.on(
      'error',
      (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message),
    );
    socket.on('close', settle);
    socket.on('end', settle);
    const frame = (piece: Buffer) =>
      spec.chunked
        ? Buffer.concat([
            Buffer.from(`${piece.length.toString(16)}\r\n`),
            piece,
            Buffer.from('\r\n'),
          ])
        : piece;
    const send = () => {
      while (!done && !socket.destroyed && sent < spec.size) {
        const piece = FILLER.subarray(
          0,
          Math.min(pieceBytes, spec.size - sent),
        );
        sent += piece.length;
        const more = socket.write(frame(piece));
        if (spec.pauseMs) {
          pause = setTimeout(send, spec.pauseMs);
          return;
        }
        if (!more) return void socket.once('drain', send);
      }
      if (!done && !socket.destroyed && spec.chunked) socket.write('0\r\n\r\n');
    };
    socket.write(
      spec.head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\n\r\n'),
    );
    send();
  });
}
