import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import {answerFrameworkErrorsWithJson} from '../../functions/http/framework-errors';
import {LOCKS_PAGE_ENABLED_VARIABLE} from '../../functions/locks-page';
import {FUNCTIONS, LOCKS_PAGE} from '../topology';

/**
 * One HTTP server hosting every function, each at `/<name>` (`/acquireLock`, ...,
 * `/exampleWorker/projects/P/topics/T` for Pub/Sub pushes: the framework reads the topic from the
 * path). The Functions Framework serves one target per process; rather than one process per
 * function, each registered function gets the framework's own Express app (the same one
 * `functions-framework --target=NAME` serves, via its testing helper) and a request is routed to
 * it by the first path segment, which is stripped. So the functions run in the framework exactly as
 * deployed, on a single port.
 *
 * The live locks page (functions/locks-page.ts) is served at `/` as well as at `/locksPage`.
 *
 * The functions must be registered first: import functions/index after the environment is set.
 */
export function functionsHost(): Server {
  // The local stack always serves its live locks page (deployed, an operator turns it on).
  process.env[LOCKS_PAGE_ENABLED_VARIABLE] ??= 'true';
  // The framework's Express is loaded now (by its testing helper): make its errors JSON before the apps exist.
  answerFrameworkErrorsWithJson();
  const apps = new Map<string, RequestListener>();
  for (const {name} of [...FUNCTIONS, LOCKS_PAGE]) {
    const [listener] = getTestServer(name).listeners(
      'request',
    ) as RequestListener[];
    if (!listener)
      throw new Error(
        `the Functions Framework gave no request handler for ${name}`,
      );
    apps.set(name, listener);
  }
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      (apps.get(LOCKS_PAGE.name) as RequestListener)(req, res);
      return;
    }
    const match = /^\/([^/?]+)(.*)$/.exec(req.url ?? '/');
    const app = match ? apps.get(match[1] as string) : undefined;
    if (!match || !app) {
      res.writeHead(404, {'Content-Type': 'application/json'});
      res.end(
        JSON.stringify({
          error: 'not_found',
          functions: [...apps.keys()].map(name => `/${name}`),
        }),
      );
      return;
    }
    const rest = match[2] ?? '';
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    app(req, res);
  });
}
