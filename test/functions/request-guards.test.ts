import {strict as assert} from 'node:assert';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {configureLocking, Lock, peek, releaseByToken} from '../../shared';
import {uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {DEFAULT_STRONG_TARGET} from '../support/strong-targets';
import {HTTP_FUNCTION_NAMES} from '../support/http-function-names';

const FUNCTIONS = HTTP_FUNCTION_NAMES;

/** A body each function accepts as it is (the answer may be 409: nobody holds these locks). */
const VALID: Record<string, Record<string, unknown>> = {
  acquireLock: {identifier: 'guards-valid', wait: false},
  releaseLock: {identifier: 'guards-valid', token: 'not-a-holder'},
  renewLock: {identifier: 'guards-valid', token: 'not-a-holder'},
  cleanupLocks: {maxAgeMs: 600_000},
};

function assertJsonError(
  response: request.Response,
  status: number,
  error: string,
  mentions: RegExp,
): void {
  assert.equal(response.status, status, response.text);
  assert.match(String(response.headers['content-type']), /application\/json/);
  assert.equal(response.body.error, error, response.text);
  assert.match(response.body.message, mentions);
}

/**
 * What a web page can make a browser send to another site without asking first (a CORS
 * "simple request": text/plain, a form, or no body), and misspelt fields, refused by every HTTP
 * function before anything changes.
 */
describe('HTTP functions: requests a browser sends cross-site, and unknown fields', () => {
  let saved: NodeJS.ProcessEnv;
  before(() => {
    saved = {...process.env};
  });
  beforeEach(() =>
    configureLocking({
      ...DEFAULT_STRONG_TARGET.config(),
      memcache: memcacheClient(),
    }),
  );
  afterEach(() => {
    process.env = {...saved};
  });
  after(() => configureLocking());

  const call = (name: string) => request(getTestServer(name)).post('/');

  describe('Content-Type: application/json, nothing else', () => {
    for (const name of FUNCTIONS) {
      it(`${name}: 415 for a JSON body sent as text/plain, as a cross-site page can send it`, async () => {
        const response = await call(name)
          .set('Content-Type', 'text/plain')
          .send(JSON.stringify(VALID[name]));
        assertJsonError(
          response,
          415,
          'invalid_request',
          /Content-Type: application\/json \(got "text\/plain"\)/,
        );
      });

      it(`${name}: 415 for no Content-Type and no body, as fetch(url, {method: 'POST'}) sends it`, async () => {
        const response = await call(name);
        assertJsonError(
          response,
          415,
          'invalid_request',
          /Content-Type: application\/json \(none was given\)/,
        );
      });

      it(`${name}: application/json with a charset is served`, async () => {
        const response = await call(name)
          .set('Content-Type', 'application/json; charset=utf-8')
          .send(JSON.stringify(VALID[name]));
        assert.ok(
          response.status === 200 || response.status === 409,
          response.text,
        );
      });
    }

    it('a release sent as text/plain releases nothing', async () => {
      const held = await Lock.acquire(uniqueId('guards-text-release'));
      assert.ok(held);
      const response = await call('releaseLock')
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({identifier: held.identifier, token: held.token}));
      assert.equal(response.status, 415, response.text);
      assert.equal((await peek(held.identifier))?.holderId, held.holderId);
      await held.release();
    });

    it('cleanupLocks takes an empty JSON body, as the Cloud Scheduler job sends it ({} or nothing)', async () => {
      for (const body of ['{}', '']) {
        const response = await call('cleanupLocks')
          .set('Content-Type', 'application/json')
          .send(body);
        assert.equal(response.status, 200, response.text);
        assert.equal(typeof response.body.deleted, 'number');
      }
    });
  });

  describe('no browser call from another site or origin', () => {
    const refusals: [string, Record<string, string>, RegExp][] = [
      [
        'Sec-Fetch-Site: cross-site',
        {'Sec-Fetch-Site': 'cross-site'},
        /another site \(Sec-Fetch-Site: cross-site\)/,
      ],
      [
        'Sec-Fetch-Site: same-site (another port of localhost)',
        {'Sec-Fetch-Site': 'same-site'},
        /another site \(Sec-Fetch-Site: same-site\)/,
      ],
      [
        'an Origin other than the host',
        {Origin: 'https://attacker.example', Host: 'locks.example'},
        /another origin \(Origin: https:\/\/attacker.example\)/,
      ],
      [
        'another port of the same host',
        {Origin: 'http://localhost:3000', Host: 'localhost:8080'},
        /another origin/,
      ],
      ['Origin: null (a sandboxed frame)', {Origin: 'null'}, /another origin/],
    ];
    for (const [what, headers, mentions] of refusals) {
      it(`403 for ${what}, even with a JSON body; the lock survives`, async () => {
        const held = await Lock.acquire(uniqueId('guards-cross-site'));
        assert.ok(held);
        const response = await call('releaseLock')
          .set(headers)
          .send({identifier: held.identifier, token: held.token});
        assertJsonError(response, 403, 'cross_site_request', mentions);
        assert.equal((await peek(held.identifier))?.holderId, held.holderId);
        await held.release();
      });
    }

    it('a same-origin browser call is served: Origin naming the host, Sec-Fetch-Site: same-origin', async () => {
      const response = await call('acquireLock')
        .set({
          Host: 'locks.example',
          Origin: 'https://locks.example',
          'Sec-Fetch-Site': 'same-origin',
        })
        .send({identifier: uniqueId('guards-same-origin'), wait: false});
      assert.equal(response.status, 200, response.text);
      await releaseByToken(response.body.identifier, response.body.token);
    });
  });

  describe('unknown fields', () => {
    it('the issue\'s {"identifier": "a2", "wiat": false} on a held lock: 400 naming "wiat" at once, not a wait', async () => {
      // Before, the misspelt field was ignored and the caller waited this long, then got 409.
      process.env.LOCKS_HTTP_MAX_WAIT_MS = '3000';
      const held = await Lock.acquire(uniqueId('guards-wiat'));
      assert.ok(held);
      const response = await call('acquireLock')
        .set('Content-Type', 'application/json')
        .send(`{"identifier":${JSON.stringify(held.identifier)},"wiat":false}`);
      assertJsonError(
        response,
        400,
        'invalid_request',
        /^wiat is not a field of acquireLock: it takes identifier, wait, stealAfterMs, leaseMs, waitForMs, kind$/,
      );
      assert.equal((await peek(held.identifier))?.holderId, held.holderId);
      await held.release();
    });

    for (const name of FUNCTIONS) {
      it(`${name}: 400 naming an unknown field, changing nothing`, async () => {
        const held = await Lock.acquire(uniqueId(`guards-unknown-${name}`));
        assert.ok(held);
        // Each function's own valid body, on the held lock where it names one, with one field too many.
        const body: Record<string, unknown> = {
          ...VALID[name],
          'lease ms': 5000,
        };
        if ('identifier' in body) body.identifier = held.identifier;
        if ('token' in body) body.token = held.token;
        if (name === 'cleanupLocks') body.maxAgeMs = 0;
        const response = await call(name).send(body);
        assertJsonError(
          response,
          400,
          'invalid_request',
          new RegExp(`^"lease ms" is not a field of ${name}: it takes `),
        );
        assert.equal(
          (await peek(held.identifier))?.holderId,
          held.holderId,
          'the lock is untouched',
        );
        await held.release();
      });
    }

    it('every documented field is taken, null ones as absent', async () => {
      const identifier = uniqueId('guards-all-fields');
      const acquired = await call('acquireLock').send({
        identifier,
        wait: false,
        stealAfterMs: null,
        leaseMs: 60_000,
        waitForMs: 1000,
        kind: 'STRONG',
      });
      assert.equal(acquired.status, 200, acquired.text);
      const {token} = acquired.body as {token: string};
      const renewed = await call('renewLock').send({
        identifier,
        token,
        leaseMs: 60_000,
        kind: 'STRONG',
      });
      assert.equal(renewed.status, 200, renewed.text);
      const released = await call('releaseLock').send({
        identifier,
        token,
        kind: 'STRONG',
      });
      assert.equal(released.status, 200, released.text);
      assert.equal(await peek(identifier), null);
    });
  });
});
