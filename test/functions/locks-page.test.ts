import {strict as assert} from 'node:assert';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import '../../functions';
import {LOCKS_PAGE_ENABLED_VARIABLE} from '../../functions/locks-page';
import {configureLocking, Lock} from '../../shared';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {uniqueId} from '../support/ids';

/** The locksPage function as deployed: off unless enabled, its data behind the functions' API token. */
describe('locksPage function', () => {
  let saved: NodeJS.ProcessEnv;
  const page = () => request(getTestServer('locksPage'));
  before(() => {
    saved = {...process.env};
  });
  beforeEach(() =>
    configureLocking({datastore: DATASTORE_TARGETS[0]?.client()}),
  );
  afterEach(() => {
    process.env = {...saved};
  });
  after(() => configureLocking());

  it(`is off unless ${LOCKS_PAGE_ENABLED_VARIABLE}=true: 404 with a JSON body saying how to turn it on`, async () => {
    delete process.env[LOCKS_PAGE_ENABLED_VARIABLE];
    for (const path of ['/', '/locks', '/events']) {
      const response = await page().get(path);
      assert.equal(response.status, 404);
      assert.equal(response.body.error, 'not_found');
      assert.match(response.body.message, /LOCKS_PAGE_ENABLED=true/);
    }
  });

  it('deployed (K_SERVICE set) without LOCKS_API_TOKEN: the page loads but its data routes answer 403 token_required', async () => {
    process.env[LOCKS_PAGE_ENABLED_VARIABLE] = 'true';
    process.env.K_SERVICE = 'locks-page';
    delete process.env.LOCKS_API_TOKEN;
    assert.equal((await page().get('/')).status, 200);
    for (const path of ['/locks', '/events']) {
      const response = await page().get(path);
      assert.equal(response.status, 403);
      assert.equal(response.body.error, 'token_required');
      assert.match(response.body.message, /LOCKS_API_TOKEN/);
    }
  });

  it('enabled: the page is static HTML whose only script is the inline one its CSP names; locks as JSON; GET only', async () => {
    process.env[LOCKS_PAGE_ENABLED_VARIABLE] = 'true';
    const id = uniqueId('page-fn');
    const held = await Lock.acquire(id, {leaseMs: 30_000});
    assert.ok(held);
    try {
      const html = await page().get('/');
      assert.equal(html.status, 200);
      assert.match(String(html.headers['content-type']), /text\/html/);
      assert.match(
        String(html.headers['content-security-policy']),
        /script-src 'sha256-[A-Za-z0-9+/=]+'/,
      );
      assert.ok(!html.text.includes(id), 'the page itself holds no data');
      const listed = await page().get('/locksPage/locks');
      assert.equal(listed.status, 200);
      const row = (listed.body.locks as Record<string, unknown>[]).find(
        lock => lock.identifier === id,
      );
      assert.deepEqual(
        [row?.holderId, row?.fence, row?.leaseMs],
        [held.holderId, String(held.fence), 30_000],
      );
      assert.ok(!listed.text.includes(held.token), 'never a token');
      assert.equal((await page().post('/locks').send({})).status, 405);
      assert.equal((await page().get('/nothing-here')).status, 404);
    } finally {
      await held.release();
    }
  });

  it('with LOCKS_API_TOKEN, the locks and the feed need it (401 JSON without); the static page does not', async () => {
    process.env[LOCKS_PAGE_ENABLED_VARIABLE] = 'true';
    process.env.LOCKS_API_TOKEN = 'page-secret';
    assert.equal((await page().get('/')).status, 200);
    const refused = await page().get('/locks');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'unauthenticated');
    assert.equal((await page().get('/events')).status, 401);
    assert.equal(
      (await page().get('/locks').set('X-Locks-Api-Token', 'page-secret'))
        .status,
      200,
    );
  });
});
