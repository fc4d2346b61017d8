import type {IncomingMessage, ServerResponse} from 'node:http';

/**
 * After an answer given before the request's body had all arrived, at most this many more bytes
 * of it are read and discarded before the connection is cut. Above Cloud Run's 32 MiB request
 * limit, so any body the platform forwards is drained whole; reading costs no memory, only time.
 */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * ... and for at most this long after the answer. A client that reads while it writes has had its
 * answer for this long by then; one still sending (an endless or very slow body) is cut off, so it
 * holds a socket, never the function, and far less than the 60 s function timeout.
 */
export const LINGER_MAX_MS = 10_000;

/**
 * Answers with a JSON body. When the request's body has not all arrived yet (the answer refuses
 * it unread: 413, 415, 405, 401, a parser's refusal), closing at once would reset a client that is
 * still sending, and it might never read the answer; keeping the connection alive would make the
 * unread bytes the next request. So this answer says `Connection: close` and does a lingering
 * close: the answer is sent whole at once (its Content-Length tells the client where it ends), and
 * the response is ended, which closes the connection, only once the rest of the body has been
 * read and discarded, or LINGER_MAX_BYTES or LINGER_MAX_MS is reached; then the connection is cut.
 */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    if (!res.writableEnded && !lingering.has(res)) res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers))
    res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', payload.length);
  if (req.complete) {
    res.end(payload);
    return;
  }
  res.setHeader('Connection', 'close');
  res.write(payload);
  lingerThenClose(req, res);
}

/** Responses held open while their request's unread body drains. */
const lingering = new WeakSet<ServerResponse>();

function lingerThenClose(req: IncomingMessage, res: ServerResponse): void {
  lingering.add(res);
  let discarded = 0;
  const finish = (cutOff: boolean) => {
    clearTimeout(timer);
    req.off('data', discard);
    req.off('end', drained);
    req.off('close', drained);
    lingering.delete(res);
    if (!res.writableEnded) res.end();
    if (cutOff) req.socket.destroy();
  };
  const discard = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) finish(true);
  };
  const drained = () => finish(false);
  const timer = setTimeout(() => finish(true), LINGER_MAX_MS);
  req.on('data', discard);
  req.once('end', drained);
  req.once('close', drained);
  // Someone may have paused it (a parser that gave up); a 'data' listener alone would not resume it then.
  req.resume();
}
