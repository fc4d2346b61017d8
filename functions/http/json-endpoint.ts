import type {Request, Response} from '@google-cloud/functions-framework';
import {LockError} from '../../shared';
import {log} from '../log';
import {typeOf} from '../../shared/validation';
import {
  functionSettings,
  SettingsError,
  type FunctionSettings,
} from '../settings';
import {apiTokenPresented} from './auth';
import {sendJson} from './lingering-close';

/** A reply with its status; the body is sent as JSON. */
export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** What the endpoint's own code throws for a request it will not serve. */
export class InvalidRequest extends Error {
  override readonly name = 'InvalidRequest';

  constructor(
    message: string,
    readonly status: 400 | 415 = 400,
  ) {
    super(message);
  }
}

/**
 * `clientGone` aborts when the client disconnects before its answer was sent, so a handler can stop
 * waiting for it (and undo what no one will hear of).
 */
export type EndpointHandler = (
  body: Record<string, unknown>,
  settings: FunctionSettings,
  clientGone: AbortSignal,
) => Promise<Reply>;

/**
 * The shell every HTTP function shares: POST only, the API token when one is configured, a JSON
 * object body of bounded size (an oversized one is refused before it is read, by
 * functions/http/body-limit.ts; the check here covers a server without that guard), and every failure mapped to a status with a JSON body. The handler
 * sees only a validated object; lock logic stays in the library.
 */
export function jsonEndpoint(
  name: string,
  handle: EndpointHandler,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const started = Date.now();
    const clientGone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    let reply: Reply;
    try {
      reply = await serve(req, handle, clientGone.signal);
    } catch (error) {
      reply = replyForError(name, error);
    }
    // A refusal may come before the body was read (no parser took it): sendJson lingers then.
    sendJson(
      req,
      res,
      reply.status,
      reply.body,
      reply.status === 405 ? {Allow: 'POST'} : {},
    );
    log(reply.status >= 500 ? 'ERROR' : 'INFO', `${name} ${reply.status}`, {
      function: name,
      status: reply.status,
      ...(typeof reply.body.error === 'string'
        ? {error: reply.body.error}
        : {}),
      latencyMs: Date.now() - started,
    });
  };
}

async function serve(
  req: Request,
  handle: EndpointHandler,
  clientGone: AbortSignal,
): Promise<Reply> {
  const settings = functionSettings();
  if (
    settings.apiToken !== undefined &&
    !apiTokenPresented(req, settings.apiToken)
  ) {
    return {status: 401, body: {error: 'unauthenticated'}};
  }
  if (req.method !== 'POST')
    return {
      status: 405,
      body: {error: 'method_not_allowed', message: 'use POST'},
    };
  const size = req.rawBody?.length ?? 0;
  if (size > settings.maxBodyBytes) {
    return {
      status: 413,
      body: {
        error: 'payload_too_large',
        message: `the body is ${size} bytes; the limit is ${settings.maxBodyBytes}`,
      },
    };
  }
  if (bodyLeftUnread(req)) throw new InvalidRequest(SEND_JSON, 415);
  return handle(bodyObject(req), settings, clientGone);
}

const SEND_JSON = 'send a JSON body (Content-Type: application/json)';

/**
 * A body the framework's parsers did not take: no Content-Type, or one they cannot parse. It is
 * refused rather than taken for an empty body, which would run the request on input nobody sent.
 */
function bodyLeftUnread(req: Request): boolean {
  if (req.rawBody !== undefined) return false;
  return (
    Number(req.headers['content-length']) > 0 ||
    req.headers['transfer-encoding'] !== undefined
  );
}

/**
 * The request body as an object. The framework has parsed JSON bodies already; a body sent as
 * text (a bare curl sends text/plain, say) is parsed here. An empty body is `{}`. Form bodies are
 * refused: their values are all strings, which would slip past type checks.
 */
function bodyObject(req: Request): Record<string, unknown> {
  if (req.is('application/x-www-form-urlencoded') || req.is('multipart/*')) {
    throw new InvalidRequest(SEND_JSON, 415);
  }
  let body: unknown = req.body;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    if (body.trim() === '') return {};
    try {
      body = JSON.parse(body);
    } catch {
      throw new InvalidRequest('the body is not valid JSON');
    }
  }
  if (body === undefined) return {};
  if (typeOf(body) !== 'object')
    throw new InvalidRequest(
      `the body must be a JSON object, got ${typeOf(body)}`,
    );
  return body as Record<string, unknown>;
}

function replyForError(name: string, error: unknown): Reply {
  if (error instanceof InvalidRequest)
    return {
      status: error.status,
      body: {error: 'invalid_request', message: error.message},
    };
  if (error instanceof LockError) {
    switch (error.code) {
      case 'INVALID_ARGUMENT':
        return {
          status: 400,
          body: {error: 'invalid_request', message: error.message},
        };
      case 'BACKEND_UNAVAILABLE':
        log('WARNING', `${name}: lock store unavailable`, {
          function: name,
          detail: error.message,
          kind: error.kind,
        });
        return {status: 503, body: {error: 'backend_unavailable'}};
      default:
        log('ERROR', `${name}: lock store failure`, {
          function: name,
          detail: error.message,
          kind: error.kind,
        });
        return {status: 500, body: {error: 'backend_failure'}};
    }
  }
  if (error instanceof SettingsError) {
    log('ERROR', `${name}: misconfigured`, {
      function: name,
      detail: error.message,
    });
    return {status: 500, body: {error: 'misconfigured'}};
  }
  log('ERROR', `${name}: unexpected error`, {
    function: name,
    detail: error instanceof Error ? error.stack : String(error),
  });
  return {status: 500, body: {error: 'internal'}};
}
