import {dirname} from 'node:path';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {log} from '../log';
import {functionSettings} from '../settings';
import {refuseOversizedBody} from './body-limit';
import {eventRequestProblem} from './event-request';
import {keepIdleConnectionsLonger} from './keep-alive';
import {sendJson} from './lingering-close';

/**
 * The Functions Framework parses request bodies before a function runs, and hands a parse error
 * (malformed JSON, a bare `null`, an unsupported charset) to Express's default handler, which
 * answers with an HTML page and, outside production, a stack trace with server paths
 * (functions-framework-nodejs issue #686, open). Our API promises JSON errors, so Express's
 * final handler is replaced, for the framework's app only, by one that answers JSON.
 *
 * Express copies `application` onto each app when the app is created, and the framework creates
 * its app after loading our module, so patching at load reaches it.
 *
 * Only an Express that is already loaded is patched: the framework's server (`functions-framework`
 * on Cloud Functions, its testing helper in tests) loads it before our code, and loading it here
 * would add ~35 ms to every cold start of a process that never serves HTTP. Returns whether the
 * patch is in place; a host that loads the framework later calls this again (it is idempotent).
 *
 * The same patch keeps idle keep-alive connections open longer than a client does
 * (functions/http/keep-alive.ts), and refuses oversized bodies before the framework's parsers read them
 * (functions/http/body-limit.ts), on apps that serve an HTTP function only: Pub/Sub pushes to an
 * event function are not bound by LOCKS_MAX_BODY_BYTES. The framework routes an HTTP function with
 * `app.all` and an event function with `app.post`, so `app.all` marks the app. An event function's
 * app refuses, in JSON, a request that carries no event (functions/http/event-request.ts).
 */
export function answerFrameworkErrorsWithJson(): boolean {
  const expressPath = require.resolve('express', {
    paths: [dirname(require.resolve('@google-cloud/functions-framework'))],
  });
  if (!require.cache[expressPath]) return false;
  const express = require(expressPath) as {
    application: ExpressApplication & {[PATCHED]?: true};
  };
  const application = express.application;
  if (application[PATCHED]) return true;
  const handle = application.handle;
  application.handle = function (this: ExpressApplication, req, res, callback) {
    keepIdleConnectionsLonger(req);
    if (this[SERVES_HTTP_FUNCTION]) {
      const limit = maxBodyBytes();
      if (limit !== undefined && refuseOversizedBody(req, res, limit)) return;
    } else {
      const problem = eventRequestProblem(req);
      if (problem) return sendJson(req, res, problem.status, problem.body);
    }
    return handle.call(
      this,
      req,
      res,
      callback ?? ((error?: unknown) => answerJson(error, req, res)),
    );
  };
  const all = application.all;
  application.all = function (this: ExpressApplication, ...args: unknown[]) {
    this[SERVES_HTTP_FUNCTION] = true;
    return all.apply(this, args);
  };
  application[PATCHED] = true;
  return true;
}

const PATCHED = Symbol.for('cloud-functions-locking.jsonFrameworkErrors');
const SERVES_HTTP_FUNCTION = Symbol.for(
  'cloud-functions-locking.servesHttpFunction',
);

interface ExpressApplication {
  [SERVES_HTTP_FUNCTION]?: true;
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    callback?: (error?: unknown) => void,
  ): void;
  all(...args: unknown[]): unknown;
}

/** A bad setting is answered by the function itself (500 misconfigured); this check then stands aside. */
function maxBodyBytes(): number | undefined {
  try {
    return functionSettings().maxBodyBytes;
  } catch {
    return undefined;
  }
}

interface HttpError {
  status?: number;
  statusCode?: number;
  type?: string;
}

/** Body-parser's error types, as a client should hear them. */
const MESSAGES: Record<string, string> = {
  'entity.parse.failed':
    'the body is not valid JSON (or not a JSON object or array)',
  'entity.too.large': 'the body is too large',
  'entity.verify.failed': 'the body could not be verified',
  'encoding.unsupported': 'the body has an unsupported content encoding',
  'charset.unsupported': 'the body has an unsupported charset',
  'request.aborted': 'the request was aborted',
  'request.size.invalid':
    'the body is shorter or longer than its Content-Length',
};

/** Some parser refusals come before the body is read (an unsupported charset or encoding): sendJson lingers then. */
function answerJson(
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const {status: declared, statusCode, type} = (error ?? {}) as HttpError;
  const status = error === undefined ? 404 : (declared ?? statusCode ?? 500);
  const clientError = status >= 400 && status < 500;
  const body =
    status === 404
      ? {error: 'not_found'}
      : status === 413
        ? {error: 'payload_too_large', message: MESSAGES['entity.too.large']}
        : clientError
          ? {
              error: 'invalid_request',
              message:
                (type && MESSAGES[type]) ?? 'the request could not be read',
            }
          : {error: 'internal'};
  if (!clientError)
    log('ERROR', 'request failed before reaching the function', {
      detail: error instanceof Error ? error.message : String(error),
    });
  sendJson(req, res, clientError ? status : 500, body);
}
