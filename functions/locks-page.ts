import {createHash} from 'node:crypto';
import type {Request, Response} from '@google-cloud/functions-framework';
import {log} from './log';
import {apiTokenPresented} from './http/auth';
import {sendJson} from './http/lingering-close';
import {streamLockEvents} from './locks-page/events-stream';
import {listPageLocks} from './locks-page/listing';
import {LOCKS_PAGE_HTML, LOCKS_PAGE_SCRIPT} from './locks-page/page-html';
import {functionSettings} from './settings';

/** Deployed, the page answers only when this is `true` (the local stack always serves it). */
export const LOCKS_PAGE_ENABLED_VARIABLE = 'LOCKS_PAGE_ENABLED';

/** Set by Cloud Run (so on every deployed function), never by the local stack. */
const CLOUD_RUN_SERVICE_VARIABLE = 'K_SERVICE';

/** The inline script is the only script the page may run. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(LOCKS_PAGE_SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The live locks page (GET): the page itself at the function's root, the locks as JSON at
 * `.../locks` (STRONG ones, and WEAK ones when they are on Valkey, each with its kind), and this process's lock events as server-sent events at `.../events`. The page is
 * static and holds no data; the two data routes take the same API token as the other functions.
 * Routes go by the last path segment, so the page works at `/` of the local stack, at
 * `/locksPage` of a functions URL and at the root of its own Cloud Run URL alike.
 */
export async function locksPage(req: Request, res: Response): Promise<void> {
  if (process.env[LOCKS_PAGE_ENABLED_VARIABLE] !== 'true') {
    sendJson(req, res, 404, {
      error: 'not_found',
      message: `the locks page is off; ${LOCKS_PAGE_ENABLED_VARIABLE}=true turns it on`,
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(
      req,
      res,
      405,
      {error: 'method_not_allowed', message: 'use GET'},
      {Allow: 'GET'},
    );
    return;
  }
  const route = routeOf(req.path);
  if (route === 'page') {
    res
      .status(200)
      .set({
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'Cache-Control': 'no-store',
      })
      .send(LOCKS_PAGE_HTML);
    return;
  }
  if (route === 'unknown') {
    sendJson(req, res, 404, {
      error: 'not_found',
      message: 'the page is at the root; its data at locks and events',
    });
    return;
  }
  const {apiToken} = functionSettings();
  if (apiToken === undefined && process.env[CLOUD_RUN_SERVICE_VARIABLE]) {
    // Deployed without a token, the list would be open to every account that may invoke the
    // function, often the whole project: identifiers can hold user data, so the data stays shut.
    sendJson(req, res, 403, {
      error: 'token_required',
      message:
        'deployed, the locks page serves its data only when LOCKS_API_TOKEN is set for this function',
    });
    return;
  }
  if (apiToken !== undefined && !apiTokenPresented(req, apiToken)) {
    sendJson(req, res, 401, {error: 'unauthenticated'});
    return;
  }
  if (route === 'events') {
    streamLockEvents(req, res);
    return;
  }
  try {
    const now = Date.now();
    const {locks, weakLocks} = await listPageLocks(now);
    sendJson(
      req,
      res,
      200,
      {now: new Date(now).toISOString(), locks, weakLocks},
      {'Cache-Control': 'no-store'},
    );
  } catch (error) {
    log('WARNING', 'locksPage: listing failed', {
      function: 'locksPage',
      detail: (error as Error)?.message,
    });
    sendJson(req, res, 503, {error: 'backend_unavailable'});
  }
}

function routeOf(path: string): 'page' | 'locks' | 'events' | 'unknown' {
  const last = path.split('/').filter(Boolean).pop();
  if (last === undefined || last === 'locksPage') return 'page';
  if (last === 'locks' || last === 'events') return last;
  return 'unknown';
}
