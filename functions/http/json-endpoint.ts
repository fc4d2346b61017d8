import type {HttpFunction, Request} from '@google-cloud/functions-framework';
import {LockError} from '../../shared';
import {log} from '../log';
import {onlyKnownFields, typeOf} from '../../shared/internal';
import {
  functionSettings,
  SettingsError,
  type FunctionSettings,
} from '../settings';
import {apiTokenPresented} from './auth';
import {crossSiteRequest} from './cross-site';
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

/** A function's name, for its logs and messages, and every field its body may have. */
export interface EndpointApi {
  readonly name: string;
  readonly fields: readonly string[];
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
 * The shell every HTTP function shares: no browser call from another site, the API token when one
 * is configured, POST only, `Content-Type: application/json`, a JSON object body of bounded size
 * (an oversized one is refused before it is read, by functions/http/body-limit.ts; the check here
 * covers a server without that guard) with no field but `fields`, and every failure mapped to a
 * status with a JSON body. The handler sees only a validated object; lock logic stays in the
 * library.
 */
export function jsonEndpoint(
  {name, fields}: EndpointApi,
  handle: EndpointHandler,
): HttpFunction {
  return async (req, res) => {
    const started = Date.now();
    const clientGone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    let reply: Reply;
    try {
      reply = await serve(req, {name, fields, handle}, clientGone.signal);
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

interface Endpoint extends EndpointApi {
  readonly handle: EndpointHandler;
}

async function serve(
  req: Request,
  endpoint: Endpoint,
  clientGone: AbortSignal,
): Promise<Reply> {
  const crossSite = crossSiteRequest(req.headers);
  if (crossSite !== undefined)
    return {
      status: 403,
      body: {
        error: 'cross_site_request',
        message: `${crossSite} is refused: call these functions from a server, a scheduler or curl`,
      },
    };
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
  const body = bodyObject(req);
  onlyKnownFields(endpoint.name, body, endpoint.fields);
  return endpoint.handle(body, settings, clientGone);
}

/**
 * The request body, parsed by the framework, as an object; no body is `{}`. Only
 * `application/json` is taken, also for an empty body: a browser sends `text/plain`, a form, or
 * no body at all to another site without asking first (no CORS preflight), so taking any of them
 * would let any web page call these functions. A form's values are all strings, too, which would
 * slip past type checks.
 */
function bodyObject(req: Request): Record<string, unknown> {
  const given = req.headers['content-type'];
  // The header itself, not req.is(), which calls a request without a body no type at all.
  if (given?.split(';')[0]?.trim().toLowerCase() !== 'application/json')
    throw new InvalidRequest(
      `send a JSON body with Content-Type: application/json (${given === undefined ? 'none was given' : `got ${JSON.stringify(given.slice(0, 100))}`})`,
      415,
    );
  const body: unknown = req.body;
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
