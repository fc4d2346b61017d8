import {strict as assert} from 'node:assert';
import {randomUUID} from 'node:crypto';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {configureLocking, LockKind, peek} from '../../shared';
import {holderIdOf} from '../../shared/core/holder-id';
import {delay, uniqueId} from '../support/ids';
import {memcacheClient} from '../support/memcache-target';
import {DEFAULT_STRONG_TARGET, STRONG_TARGETS} from '../support/strong-targets';

/** Where the renewLock contract runs: every STRONG store, and memcached (WEAK). */
const TARGETS = [
  ...STRONG_TARGETS.map(target => ({
    name: target.name,
    kind: LockKind.STRONG,
    config: () => target.config(),
  })),
  {
    name: 'memcached',
    kind: LockKind.WEAK,
    config: () => DEFAULT_STRONG_TARGET.config(),
  },
];

/** The HTTP renewLock function in-process (Functions Framework test server + supertest), on the real stores. */
describe('HTTP renewLock', () => {
  const acquire = () => request(getTestServer('acquireLock'));
  const renew = () => request(getTestServer('renewLock'));
  let saved: NodeJS.ProcessEnv;
  before(() => {
    saved = {...process.env};
  });
  afterEach(() => {
    process.env = {...saved};
  });
  after(() => configureLocking());

  for (const target of TARGETS) {
    describe(`on the ${target.name}`, () => {
      const kind = target.kind;
      beforeEach(() =>
        configureLocking({...target.config(), memcache: memcacheClient()}),
      );

      /** A lock acquired over HTTP with a lease: its token and when the lease was due to end. */
      async function leased(label: string, leaseMs: number) {
        const identifier = uniqueId(label);
        const response = await acquire()
          .post('/')
          .send({identifier, kind, leaseMs});
        assert.equal(response.status, 200, response.text);
        const expiresAt = Date.parse(response.body.expiresAt);
        const acquiredAt = Date.parse(response.body.acquiredAt);
        assert.equal(
          expiresAt,
          acquiredAt + leaseMs,
          'acquireLock answers the end of the lease',
        );
        return {
          identifier,
          token: response.body.token as string,
          fence: response.body.fence as string | undefined,
          expiresAt,
        };
      }
      const plainAcquire = (identifier: string, extra: object = {}) =>
        acquire()
          .post('/')
          .send({identifier, kind, wait: false, ...extra});
      /** Waits until `time` (ms since the epoch) has passed, by `marginMs`. */
      const until = (time: number, marginMs: number) =>
        delay(Math.max(0, time + marginMs - Date.now()));

      it('renewing keeps the lease alive past its original end; left alone, it then expires and is taken with a higher fence', async () => {
        const leaseMs = 1500;
        const lock = await leased('renew-alive', leaseMs);
        let lastEnd = lock.expiresAt;
        for (
          const stopAt = lock.expiresAt + 900;
          Date.now() < stopAt;
          await delay(250)
        ) {
          const renewed = await renew()
            .post('/')
            .send({identifier: lock.identifier, token: lock.token, kind});
          assert.equal(renewed.status, 200, renewed.text);
          assert.equal(renewed.body.identifier, lock.identifier);
          const end = Date.parse(renewed.body.expiresAt);
          assert.ok(end >= lastEnd, 'each renewal moves the end no earlier');
          lastEnd = end;
        }
        assert.ok(
          Date.now() > lock.expiresAt,
          'past the original end of the lease',
        );
        const refused = await plainAcquire(lock.identifier);
        assert.equal(
          refused.status,
          409,
          'a plain acquire after the original end finds the lease alive',
        );
        assert.equal(
          (await plainAcquire(lock.identifier, {stealAfterMs: 50})).status,
          409,
          'and so does one with stealAfterMs: 50',
        );
        assert.equal(
          (await peek(lock.identifier, {kind}))?.holderId,
          holderIdOf(lock.token),
        );

        await until(lastEnd, 300);
        const taken = await plainAcquire(lock.identifier);
        assert.equal(
          taken.status,
          200,
          'once no longer renewed, the lease expires and a plain acquire takes it',
        );
        if (kind === LockKind.STRONG)
          assert.ok(
            BigInt(taken.body.fence) > BigInt(lock.fence as string),
            'with a higher fence',
          );
        const late = await renew()
          .post('/')
          .send({identifier: lock.identifier, token: lock.token, kind});
        assert.equal(late.status, 409, 'the old holder can no longer renew');
        assert.deepEqual(late.body, {error: 'not_holder'});
      });

      it('leaseMs sets a new lease from now; an expired lease nobody took yet is renewed', async () => {
        const lock = await leased('renew-longer', 300);
        await until(lock.expiresAt, 100);
        const sent = Date.now();
        const renewed = await renew().post('/').send({
          identifier: lock.identifier,
          token: lock.token,
          kind,
          leaseMs: 60_000,
        });
        assert.equal(renewed.status, 200, renewed.text);
        const end = Date.parse(renewed.body.expiresAt);
        assert.ok(
          end >= sent + 60_000 && end <= Date.now() + 60_000,
          `the new lease runs 60 s from the renewal (${end - sent} ms)`,
        );
        assert.equal((await peek(lock.identifier, {kind}))?.leaseMs, 60_000);
        await delay(400);
        assert.equal(
          (await plainAcquire(lock.identifier)).status,
          409,
          'the longer lease holds past the old one',
        );
      });

      it('409 not_holder for a wrong token, changing nothing: the lease still ends when it would have', async () => {
        const leaseMs = 2000;
        const lock = await leased('renew-wrong', leaseMs);
        const other = await leased('renew-other', leaseMs);
        await delay(leaseMs / 2);
        for (const token of [randomUUID(), other.token]) {
          const response = await renew()
            .post('/')
            .send({identifier: lock.identifier, token, kind});
          assert.equal(response.status, 409, response.text);
          assert.deepEqual(response.body, {error: 'not_holder'});
        }
        const holder = await peek(lock.identifier, {kind});
        assert.equal(
          holder?.holderId,
          holderIdOf(lock.token),
          'the holder is untouched',
        );
        assert.equal(holder?.renewedAt, undefined, 'and not renewed');
        await until(lock.expiresAt, 300);
        assert.equal(
          (await plainAcquire(lock.identifier)).status,
          200,
          'the lease ended at its original time',
        );
      });

      it('409 not_holder for a lock that is not held', async () => {
        const response = await renew()
          .post('/')
          .send({
            identifier: uniqueId('renew-free'),
            token: randomUUID(),
            kind,
          });
        assert.equal(response.status, 409);
        assert.deepEqual(response.body, {error: 'not_holder'});
      });
    });
  }

  describe('input and authentication', () => {
    beforeEach(() =>
      configureLocking({
        ...DEFAULT_STRONG_TARGET.config(),
        memcache: memcacheClient(),
      }),
    );

    const token = randomUUID();
    const badBodies: [string, object, RegExp][] = [
      [
        'a missing identifier',
        {token},
        /identifier must be a string, got undefined/,
      ],
      [
        'a numeric identifier',
        {identifier: 7, token},
        /identifier must be a string, got number/,
      ],
      [
        'a missing token',
        {identifier: 'x'},
        /token must be a non-empty string/,
      ],
      [
        'a numeric token',
        {identifier: 'x', token: 5},
        /token must be a non-empty string/,
      ],
      [
        'an empty token',
        {identifier: 'x', token: ''},
        /token must be a non-empty string/,
      ],
      [
        'a leaseMs under 100',
        {identifier: 'x', token, leaseMs: 99},
        /leaseMs must be a number of milliseconds from 100 .*got 99/,
      ],
      [
        'a negative leaseMs',
        {identifier: 'x', token, leaseMs: -1},
        /leaseMs must be .*got -1/,
      ],
      [
        'a huge leaseMs',
        {identifier: 'x', token, leaseMs: 1e13},
        /leaseMs must be a number of milliseconds from 100 to 1000000000000/,
      ],
      [
        'a leaseMs string',
        {identifier: 'x', token, leaseMs: '500'},
        /leaseMs must be .*got string/,
      ],
      [
        'a "NaN" leaseMs',
        {identifier: 'x', token, leaseMs: 'NaN'},
        /leaseMs must be .*got string/,
      ],
      [
        'an "Infinity" leaseMs',
        {identifier: 'x', token, leaseMs: 'Infinity'},
        /leaseMs must be .*got string/,
      ],
      [
        'a boolean leaseMs',
        {identifier: 'x', token, leaseMs: true},
        /leaseMs must be .*got boolean/,
      ],
      [
        'an unknown kind',
        {identifier: 'x', token, kind: 'weak'},
        /kind must be "STRONG" or "WEAK"/,
      ],
    ];
    for (const [what, body, mentions] of badBodies) {
      it(`400 invalid_request for ${what}`, async () => {
        const response = await renew().post('/').send(body);
        assert.equal(response.status, 400, response.text);
        assert.match(
          String(response.headers['content-type']),
          /application\/json/,
        );
        assert.equal(response.body.error, 'invalid_request');
        assert.match(response.body.message, mentions);
      });
    }

    it('acquireLock: 400 naming leaseMs for a bad one, acquiring nothing; no expiresAt without a lease', async () => {
      const identifier = uniqueId('acquire-bad-lease');
      for (const leaseMs of [99, 1e13, 'NaN', '5000', -1]) {
        const response = await acquire().post('/').send({identifier, leaseMs});
        assert.equal(response.status, 400, `${leaseMs}: ${response.text}`);
        assert.equal(response.body.error, 'invalid_request');
        assert.match(
          response.body.message,
          /leaseMs must be a number of milliseconds from 100/,
        );
      }
      assert.equal(await peek(identifier), null);
      const plain = await acquire().post('/').send({identifier});
      assert.equal(plain.status, 200, plain.text);
      assert.equal('expiresAt' in plain.body, false);
    });

    it('400 for a bad leaseMs leaves the lease as it was', async () => {
      const identifier = uniqueId('renew-bad-lease');
      const {body} = await acquire()
        .post('/')
        .send({identifier, leaseMs: 60_000});
      assert.equal(
        (
          await renew()
            .post('/')
            .send({identifier, token: body.token, leaseMs: 50})
        ).status,
        400,
      );
      const holder = await peek(identifier);
      assert.equal(holder?.leaseMs, 60_000);
      assert.equal(holder?.renewedAt, undefined);
    });

    it('405 for GET, with Allow: POST', async () => {
      const response = await renew().get('/');
      assert.equal(response.status, 405);
      assert.equal(response.headers.allow, 'POST');
    });

    it('401 without the API token when LOCKS_API_TOKEN is set, renewing nothing; 200 with it', async () => {
      process.env.LOCKS_API_TOKEN = 'renew-secret';
      const identifier = uniqueId('renew-auth');
      const {body} = await acquire()
        .post('/')
        .set('X-Locks-Api-Token', 'renew-secret')
        .send({identifier, leaseMs: 60_000});
      assert.ok(body.token, 'acquired with the API token');
      for (const header of [undefined, 'wrong']) {
        const call = renew().post('/');
        if (header) call.set('X-Locks-Api-Token', header);
        const response = await call.send({identifier, token: body.token});
        assert.equal(response.status, 401);
        assert.deepEqual(response.body, {error: 'unauthenticated'});
      }
      assert.equal(
        (await peek(identifier))?.renewedAt,
        undefined,
        'no unauthenticated request renewed it',
      );
      const ok = await renew()
        .post('/')
        .set('Authorization', 'Bearer renew-secret')
        .send({identifier, token: body.token});
      assert.equal(ok.status, 200, ok.text);
      assert.ok(
        (await peek(identifier))?.renewedAt,
        'the authenticated one did',
      );
    });
  });
});
