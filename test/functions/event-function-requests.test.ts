import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {freePort} from '../../infra/ports';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {TEST_PROJECT} from '../support/global-setup';
import {startExampleWorkerServer, waitForHttp} from '../support/worker-server';

/**
 * A request that carries no event, sent to a Pub/Sub-triggered function served by the real
 * Functions Framework (the example worker): refused with a 4xx and a JSON body naming the problem,
 * never a 500 or a crash logged. A request that may carry one still reaches the framework.
 */
describe('an event function refuses requests that carry no event', function () {
  this.timeout(30_000);
  let server: ChildProcess;
  let port: number;
  const output: string[] = [];

  before(async () => {
    port = await freePort();
    server = startExampleWorkerServer(
      port,
      {
        DATASTORE_EMULATOR_HOST: DATASTORE_TARGETS[0]?.host(),
        GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
      },
      output,
    );
    await waitForHttp(port);
  });
  after(() => {
    if (server.pid) process.kill(-server.pid, 'SIGKILL');
  });

  const send = (init: RequestInit) =>
    fetch(`http://127.0.0.1:${port}/`, init).then(async response => ({
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
    }));

  const refusals: Array<[string, RequestInit, number, string, RegExp]> = [
    ['a GET', {method: 'GET'}, 405, 'method_not_allowed', /POSTed/],
    [
      'a PUT of JSON',
      {
        method: 'PUT',
        headers: {'Content-Type': 'application/json'},
        body: '{}',
      },
      405,
      'method_not_allowed',
      /POSTed/,
    ],
    [
      'a POST with no body',
      {method: 'POST'},
      415,
      'unsupported_media_type',
      /application\/json/,
    ],
    [
      'a POST of text',
      {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: 'hello'},
      415,
      'unsupported_media_type',
      /ce-specversion/,
    ],
    [
      'a POST of malformed JSON',
      {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: '{"oops',
      },
      400,
      'invalid_request',
      /not valid JSON/,
    ],
  ];
  for (const [what, init, status, error, message] of refusals) {
    it(`${what}: ${status} ${error}, in JSON`, async () => {
      const answer = await send(init);
      assert.equal(answer.status, status, answer.text);
      assert.match(answer.type, /application\/json/);
      const body = JSON.parse(answer.text) as {error: string; message: string};
      assert.equal(body.error, error);
      assert.match(body.message, message);
    });
  }

  it('none of them was logged as a crash', () => {
    assert.deepEqual(
      output.filter(line =>
        /request failed before reaching the function/.test(line),
      ),
      [],
    );
  });

  it('a binary-mode CloudEvent (ce-* headers, any content type) still reaches the framework', async () => {
    const answer = await send({
      method: 'POST',
      headers: {
        'Content-Type': 'text/plain',
        'ce-specversion': '1.0',
        'ce-id': 'binary-1',
        'ce-source': '//pubsub.googleapis.com/projects/p/topics/t',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      },
      body: 'not a Pub/Sub message',
    });
    assert.notEqual(answer.status, 415, answer.text);
    assert.notEqual(answer.status, 405, answer.text);
  });
});
