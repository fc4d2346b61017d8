import type {IncomingMessage, ServerResponse} from 'node:http';
import {sendJson} from './lingering-close';

/**
 * Refuses a request body over `limit` bytes before the Functions Framework reads it (its parsers
 * buffer up to 1 GB). A declared `Content-Length` over the limit is answered at once, unread; a
 * body without one (chunked) is counted as it streams, and answered as soon as the count passes
 * the limit. Returns whether the request was answered here.
 *
 * Whatever the Content-Type, so a body no parser reads is bounded too. The answer ends with a
 * lingering close (functions/http/lingering-close.ts): the rest of the body is read and discarded,
 * within bounds, so a client still sending reads the 413 instead of a reset.
 */
export function refuseOversizedBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): boolean {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const length = Number(declared);
    if (!(length > limit)) return false;
    answerTooLarge(req, res, limit);
    return true;
  }
  if (req.headers['transfer-encoding'] === undefined) return false;
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limit) return;
    req.off('data', count);
    if (!res.headersSent) answerTooLarge(req, res, limit);
    // The framework's body reader, listening on the same stream, would otherwise keep buffering
    // until the client stops sending: it treats an aborted request as failed, stops buffering, and
    // hands the failure to Express's final handler, which sees the answer already sent.
    req.emit('aborted');
  };
  // Listening starts the flow on the next tick; the framework's reader attaches in this one (its
  // parsers are the app's first middleware), so both see every chunk.
  req.on('data', count);
  return false;
}

function answerTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): void {
  sendJson(req, res, 413, {
    error: 'payload_too_large',
    message: `the body is larger than the limit of ${limit} bytes (LOCKS_MAX_BODY_BYTES)`,
  });
}
