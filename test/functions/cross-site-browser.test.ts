import {strict as assert} from 'node:assert';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {Browser} from 'puppeteer-core';
import '../../functions';
import {functionsHost} from '../../infra/local/functions-host';
import {configureLocking, Lock, peek} from '../../shared';
import {launchChromium} from '../support/chromium';
import {uniqueId} from '../support/ids';
import {DEFAULT_STRONG_TARGET} from '../support/strong-targets';

function listen(server: Server, host: string): Promise<number> {
  return new Promise(resolve =>
    server.listen(0, host, () =>
      resolve((server.address() as AddressInfo).port),
    ),
  );
}

function close(server: Server): Promise<void> {
  return new Promise(resolve => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * The attack itself, in a real browser (Debian's chromium): a page on another origin makes the
 * browser POST a release to the local stack's functions (as `npm start` serves them, without a
 * token) the one way a page can without a CORS preflight: `text/plain`, `mode: 'no-cors'`. The
 * request reaches the function, which refuses it; the lock survives.
 */
describe('HTTP functions in chromium: a page on another origin cannot release a lock', function () {
  this.timeout(120_000);
  let browser: Browser;
  let api: Server;
  let attacker: Server;
  let apiPort: number;
  let attackerPort: number;
  /** What the functions answered to the browser's requests to releaseLock. */
  const releaseStatuses: number[] = [];

  before(async () => {
    configureLocking(DEFAULT_STRONG_TARGET.config());
    api = functionsHost();
    // First, before the host strips the function's name from the path.
    api.prependListener('request', (req, res) => {
      if (req.url?.startsWith('/releaseLock'))
        res.once('finish', () => releaseStatuses.push(res.statusCode));
    });
    apiPort = await listen(api, '127.0.0.1');
    attacker = createServer((_req, res) => {
      res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8'});
      res.end('<!doctype html><title>any web page</title><p>nothing here');
    });
    attackerPort = await listen(attacker, '127.0.0.1');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (api) await close(api);
    if (attacker) await close(attacker);
    configureLocking();
  });

  it('a no-preflight text/plain POST to releaseLock reaches the function, is refused, and the lock survives', async () => {
    const held = await Lock.acquire(uniqueId('cross-site-browser'));
    assert.ok(held);
    const page = await browser.newPage();
    try {
      // localhost and 127.0.0.1 are different sites: the page is cross-site to the functions.
      await page.goto(`http://localhost:${attackerPort}/`);
      const target = `http://127.0.0.1:${apiPort}/releaseLock`;
      const body = JSON.stringify({
        identifier: held.identifier,
        token: held.token,
      });
      // Source text: this project compiles without the DOM's types.
      const outcome = await page.evaluate(
        `fetch(${JSON.stringify(target)}, {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: ${JSON.stringify(body)}}).then(response => response.type, error => 'failed: ' + error)`,
      );
      // An opaque answer: the request went out and was answered; the page may not read it.
      assert.equal(outcome, 'opaque');
    } finally {
      await page.close();
    }
    assert.equal(releaseStatuses.length, 1, 'the release reached the function');
    assert.ok(
      releaseStatuses[0] === 403 || releaseStatuses[0] === 415,
      `the function answered ${releaseStatuses[0]}`,
    );
    assert.equal(
      (await peek(held.identifier))?.holderId,
      held.holderId,
      'the lock survives',
    );
    await held.release();
  });
});
