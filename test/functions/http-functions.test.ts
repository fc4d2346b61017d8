import {strict as assert} from 'node:assert';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import sinon from 'sinon';
import request from 'supertest';
import '../../functions';
import {configureLocking, Lock, LockKind, peek} from '../../shared';
import {holderIdOf} from '../../shared/core/holder-id';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {DEFAULT_STRONG_TARGET, STRONG_TARGETS} from '../support/strong-targets';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The HTTP functions in-process (Functions Framework test server + supertest) on the real emulator and memcached. */
describe('HTTP functions', () => {
  let saved: NodeJS.ProcessEnv;
  before(() => {
    saved = {...process.env};
  });
  const acquire = () => request(getTestServer('acquireLock'));
  const release = () => request(getTestServer('releaseLock'));
  const cleanup = () => request(getTestServer('cleanupLocks'));

  afterEach(() => {
    process.env = {...saved};
    sinon.restore();
  });
  after(() => configureLocking());

  const invalid = (response: request.Response, mentions: RegExp) => {
    assert.equal(response.status, 400, response.text);
    assert.match(String(response.headers['content-type']), /application\/json/);
    assert.equal(response.body.error, 'invalid_request');
    assert.match(response.body.message, mentions);
  };

  for (const target of STRONG_TARGETS) {
    describe(`on the ${target.name}`, () => {
      beforeEach(() =>
        configureLocking({...target.config(), memcache: memcacheClient()}),
      );

      describe('acquireLock', () => {
        it('200 with identifier, token, kind, acquiredAt and a decimal-string fence', async () => {
          const identifier = uniqueId('http');
          const response = await acquire().post('/').send({identifier});
          assert.equal(response.status, 200, response.text);
          assert.equal(response.body.identifier, identifier);
          assert.match(response.body.token, UUID);
          assert.equal(response.body.kind, 'STRONG');
          assert.equal(
            new Date(response.body.acquiredAt).toISOString(),
            response.body.acquiredAt,
          );
          assert.match(response.body.fence, /^\d+$/);
          const holder = await peek(identifier);
          assert.equal(holder?.holderId, holderIdOf(response.body.token));
          assert.equal(holder?.fence?.toString(), response.body.fence);
        });

        it('409 lock_held when held: at once with wait: false, after waitForMs otherwise', async () => {
          const identifier = uniqueId('http-held');
          assert.equal(
            (await acquire().post('/').send({identifier})).status,
            200,
          );
          const bail = await acquire()
            .post('/')
            .send({identifier, wait: false});
          assert.equal(bail.status, 409);
          assert.deepEqual(bail.body, {error: 'lock_held'});
          const waited = await acquire()
            .post('/')
            .send({identifier, waitForMs: 100});
          assert.equal(waited.status, 409);
        });

        it('caps a wait at LOCKS_HTTP_MAX_WAIT_MS, so a request never outlives its function', async () => {
          process.env.LOCKS_HTTP_MAX_WAIT_MS = '150';
          const identifier = uniqueId('http-cap');
          assert.equal(
            (await acquire().post('/').send({identifier})).status,
            200,
          );
          const started = Date.now();
          const unbounded = await acquire()
            .post('/')
            .send({identifier, wait: true});
          assert.equal(
            unbounded.status,
            409,
            'a wait with no limit ends at the cap',
          );
          const tooLong = await acquire()
            .post('/')
            .send({identifier, waitForMs: 3_600_000});
          assert.equal(
            tooLong.status,
            409,
            'a wait above the cap ends at the cap',
          );
          assert.ok(Date.now() - started < 10_000);
        });

        it('415 for a JSON body sent as text/plain: a page on any site can make a browser send it without asking', async () => {
          const identifier = uniqueId('http-text');
          const response = await acquire()
            .post('/')
            .set('Content-Type', 'text/plain')
            .send(JSON.stringify({identifier}));
          assert.equal(response.status, 415, response.text);
          assert.match(
            response.body.message,
            /Content-Type: application\/json/,
          );
          assert.equal(await peek(identifier), null);
        });
      });

      describe('releaseLock', () => {
        it('200 released with the holder token; the lock is gone', async () => {
          const identifier = uniqueId('http-release');
          const {body} = await acquire().post('/').send({identifier});
          const response = await release()
            .post('/')
            .send({identifier, token: body.token});
          assert.equal(response.status, 200, response.text);
          assert.deepEqual(response.body, {released: true});
          assert.equal(await peek(identifier), null);
        });

        it('409 not_holder for another token, and the lock stays untouched', async () => {
          const identifier = uniqueId('http-not-holder');
          const {body} = await acquire().post('/').send({identifier});
          const other = await Lock.acquire(uniqueId('other'));
          for (const token of ['not-a-token', other?.token as string]) {
            const response = await release()
              .post('/')
              .send({identifier, token});
            assert.equal(response.status, 409);
            assert.deepEqual(response.body, {error: 'not_holder'});
          }
          assert.equal(
            (await peek(identifier))?.holderId,
            holderIdOf(body.token),
          );
        });

        it('409 not_holder for a lock that is not held, and for the WEAK kind of a STRONG lock', async () => {
          const identifier = uniqueId('http-free');
          assert.equal(
            (await release().post('/').send({identifier, token: 'whatever'}))
              .status,
            409,
          );
          const {body} = await acquire().post('/').send({identifier});
          assert.equal(
            (
              await release()
                .post('/')
                .send({identifier, token: body.token, kind: 'WEAK'})
            ).status,
            409,
          );
          assert.equal(
            (await peek(identifier))?.holderId,
            holderIdOf(body.token),
          );
        });
      });

      describe('cleanupLocks', () => {
        beforeEach(() =>
          configureLocking({
            ...target.config(),
            namespace: uniqueId('cleanup-ns').replace(/:/g, '-'),
          }),
        );

        it('deletes a lock older than maxAgeMs and a stealable one past its steal time; keeps a fresh one', async () => {
          const old = await Lock.acquire(uniqueId('old'));
          const stealable = await Lock.acquire(uniqueId('stealable'), {
            stealAfterMs: 10,
          });
          await delay(300);
          const fresh = await Lock.acquire(uniqueId('fresh'));
          assert.ok(old && stealable && fresh);
          const response = await cleanup().post('/').send({maxAgeMs: 250});
          assert.equal(response.status, 200, response.text);
          assert.deepEqual(response.body, {deleted: 2, dispatched: 0});
          assert.equal(await peek(old.identifier), null);
          assert.equal(await peek(stealable.identifier), null);
          assert.equal(
            (await peek(fresh.identifier))?.holderId,
            fresh.holderId,
          );
        });

        it('defaults to LOCKS_CLEANUP_MAX_AGE_MS, and takes an empty JSON body', async () => {
          const old = await Lock.acquire(uniqueId('old-env'));
          await delay(150);
          process.env.LOCKS_CLEANUP_MAX_AGE_MS = '100';
          const response = await cleanup()
            .post('/')
            .set('Content-Type', 'application/json');
          assert.equal(response.status, 200, response.text);
          assert.equal(response.body.deleted, 1);
          assert.equal(await peek(old?.identifier as string), null);
        });

        it('400 for a negative maxAgeMs, deleting nothing', async () => {
          const held = await Lock.acquire(uniqueId('kept'));
          invalid(await cleanup().post('/').send({maxAgeMs: -1}), /maxAgeMs/);
          assert.equal(
            (await peek(held?.identifier as string))?.holderId,
            held?.holderId,
          );
        });
      });

      describe('authentication with LOCKS_API_TOKEN', () => {
        const secret = 's3cret-token';
        beforeEach(() => {
          process.env.LOCKS_API_TOKEN = secret;
        });

        it('401 without the right bearer token, on all three functions; 200 with it', async () => {
          const identifier = uniqueId('http-auth');
          for (const header of [
            undefined,
            'Bearer wrong',
            `Basic ${secret}`,
            'Bearer ',
            `Bearer ${secret}x`,
          ]) {
            for (const server of [acquire, release, cleanup]) {
              const call = server().post('/');
              if (header) call.set('Authorization', header);
              const response = await call.send({identifier, token: 't'});
              assert.equal(response.status, 401, `${header}`);
              assert.deepEqual(response.body, {error: 'unauthenticated'});
            }
          }
          assert.equal(
            await peek(identifier),
            null,
            'no unauthenticated request acquired anything',
          );
          const ok = await acquire()
            .post('/')
            .set('Authorization', `Bearer ${secret}`)
            .send({identifier});
          assert.equal(ok.status, 200);
        });

        it('X-Locks-Api-Token is accepted beside an OIDC token in Authorization, as Cloud Scheduler sends them; a wrong one is 401', async () => {
          configureLocking({
            ...target.config(),
            namespace: uniqueId('auth-header-ns').replace(/:/g, '-'),
          });
          const held = await Lock.acquire(uniqueId('auth-header-old'));
          await delay(50);
          const oidc = 'Bearer eyJhbGciOiJSUzI1NiJ9.not-the-api-token';
          const refused = await cleanup()
            .post('/')
            .set('Authorization', oidc)
            .set('X-Locks-Api-Token', 'wrong')
            .send({maxAgeMs: 1});
          assert.equal(refused.status, 401);
          assert.equal(
            (await peek(held?.identifier as string))?.holderId,
            held?.holderId,
          );
          const accepted = await cleanup()
            .post('/')
            .set('Authorization', oidc)
            .set('X-Locks-Api-Token', secret)
            .send({maxAgeMs: 1});
          assert.equal(accepted.status, 200, accepted.text);
          assert.equal(await peek(held?.identifier as string), null);
        });

        it('an unauthenticated cleanup deletes nothing', async () => {
          configureLocking({
            ...target.config(),
            namespace: uniqueId('auth-ns').replace(/:/g, '-'),
          });
          const held = await Lock.acquire(uniqueId('auth-old'));
          await delay(50);
          assert.equal(
            (await cleanup().post('/').send({maxAgeMs: 1})).status,
            401,
          );
          assert.equal(
            (await peek(held?.identifier as string))?.holderId,
            held?.holderId,
          );
        });
      });
    });
  }

  /** What never reaches a STRONG store (input refused first, WEAK locks, log lines) runs on one. */
  describe('on one STRONG store', () => {
    beforeEach(() =>
      configureLocking({
        ...DEFAULT_STRONG_TARGET.config(),
        memcache: memcacheClient(),
      }),
    );

    describe('acquireLock', () => {
      it('200 for WEAK, without a fence', async () => {
        const identifier = uniqueId('http-weak');
        const response = await acquire()
          .post('/')
          .send({identifier, kind: 'WEAK'});
        assert.equal(response.status, 200, response.text);
        assert.equal(response.body.kind, 'WEAK');
        assert.equal('fence' in response.body, false);
        assert.equal(
          (await peek(identifier, {kind: LockKind.WEAK}))?.holderId,
          holderIdOf(response.body.token),
        );
      });

      const badBodies: [string, string | object, RegExp][] = [
        ['malformed JSON', '{"identifier": ', /not valid JSON/],
        ['a bare null', 'null', /not valid JSON/],
        ['an array', '[1, 2]', /JSON object/],
        [
          'a missing identifier',
          {},
          /identifier must be a string, got undefined/,
        ],
        [
          'an empty identifier',
          {identifier: ''},
          /identifier must not be empty/,
        ],
        [
          'a numeric identifier',
          {identifier: 7},
          /identifier must be a string, got number/,
        ],
        [
          'an identifier over 1,500 bytes',
          {identifier: 'é'.repeat(751)},
          /1502 bytes/,
        ],
        [
          'a negative stealAfterMs',
          {identifier: 'x', stealAfterMs: -5},
          /stealAfterMs/,
        ],
        [
          'a non-numeric waitForMs',
          {identifier: 'x', waitForMs: '100'},
          /waitForMs/,
        ],
        [
          'a non-boolean wait',
          {identifier: 'x', wait: 'no'},
          /wait must be a boolean/,
        ],
        [
          'an unknown kind',
          {identifier: 'x', kind: 'MEDIUM'},
          /kind must be "STRONG" or "WEAK"/,
        ],
        [
          'a lower-case kind',
          {identifier: 'x', kind: 'weak'},
          /kind must be "STRONG" or "WEAK"/,
        ],
      ];
      for (const [what, body, mentions] of badBodies) {
        it(`400 invalid_request for ${what}`, async () => {
          const call = acquire()
            .post('/')
            .set('Content-Type', 'application/json');
          invalid(
            await call.send(
              typeof body === 'string' ? body : JSON.stringify(body),
            ),
            mentions,
          );
        });
      }

      it('405 for other methods, with Allow: POST', async () => {
        for (const method of ['get', 'put', 'delete', 'patch'] as const) {
          const response = await acquire()[method]('/');
          assert.equal(response.status, 405, method);
          assert.equal(response.headers.allow, 'POST');
          assert.equal(response.body.error, 'method_not_allowed');
        }
      });

      it('413 for a body over LOCKS_MAX_BODY_BYTES, 415 for a form body', async () => {
        process.env.LOCKS_MAX_BODY_BYTES = '1000';
        const large = await acquire()
          .post('/')
          .send({identifier: 'x', padding: 'p'.repeat(2000)});
        assert.equal(large.status, 413);
        assert.equal(large.body.error, 'payload_too_large');
        const form = await acquire()
          .post('/')
          .type('form')
          .send({identifier: 'x'});
        assert.equal(form.status, 415);
      });
    });

    describe('releaseLock', () => {
      it('200 for WEAK locks', async () => {
        const identifier = uniqueId('http-release-weak');
        const {body} = await acquire()
          .post('/')
          .send({identifier, kind: 'WEAK'});
        assert.equal(
          (
            await release()
              .post('/')
              .send({identifier, token: body.token, kind: 'WEAK'})
          ).status,
          200,
        );
        assert.equal(await peek(identifier, {kind: LockKind.WEAK}), null);
      });

      const badBodies: [string, object, RegExp][] = [
        [
          'a missing token',
          {identifier: 'x'},
          /token must be a non-empty string/,
        ],
        [
          'an empty token',
          {identifier: 'x', token: ''},
          /token must be a non-empty string/,
        ],
        [
          'a numeric token',
          {identifier: 'x', token: 5},
          /token must be a non-empty string/,
        ],
        ['a missing identifier', {token: 't'}, /identifier must be a string/],
        [
          'an unknown kind',
          {identifier: 'x', token: 't', kind: 'STRONGER'},
          /kind must be/,
        ],
      ];
      for (const [what, body, mentions] of badBodies) {
        it(`400 invalid_request for ${what}`, async () =>
          invalid(await release().post('/').send(body), mentions));
      }

      it('405 for GET', async () =>
        assert.equal((await release().get('/')).status, 405));
    });

    describe('logs', () => {
      it('writes one structured JSON line per request, with severity, and never the token', async () => {
        const lines: string[] = [];
        const write = process.stdout.write.bind(process.stdout);
        sinon
          .stub(process.stdout, 'write')
          .callsFake((chunk: string | Uint8Array, ...rest: unknown[]) => {
            lines.push(String(chunk));
            return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
          });
        const identifier = uniqueId('http-log');
        const {body} = await acquire().post('/').send({identifier});
        await release().post('/').send({identifier, token: body.token});
        sinon.restore();
        const entries = lines
          .map(line => JSON.parse(line) as Record<string, unknown>)
          .filter(entry => typeof entry.function === 'string');
        assert.deepEqual(
          entries.map(entry => [entry.severity, entry.function, entry.status]),
          [
            ['INFO', 'acquireLock', 200],
            ['INFO', 'releaseLock', 200],
          ],
        );
        assert.ok(
          lines.every(line => !line.includes(body.token)),
          'no log line carries the token',
        );
      });
    });
  });
});
