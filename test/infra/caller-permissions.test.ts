import {strict as assert} from 'node:assert';
import {createServer, type IncomingMessage} from 'node:http';
import type {AddressInfo} from 'node:net';
import {
  missingRoles,
  neededRoles,
  resourceManagerPermissions,
  serviceAccountPermissions,
} from '../../infra/deploy/caller-permissions';
import {parseDeployArgs} from '../../infra/deploy/deploy-options';

/** The caller's permissions: asked of Resource Manager's testIamPermissions (a local server here), with gcloud's token. */
describe("infra: deploy preflight, the caller's permissions", () => {
  const options = parseDeployArgs([
    '--project',
    'my-project',
    '--region',
    'europe-west1',
  ]);

  it("asks testIamPermissions on the project with gcloud's token, and returns what it grants", async () => {
    let seen: {
      url?: string | undefined;
      authorization?: string | undefined;
      body?: unknown;
    } = {};
    const server = createServer(async (request: IncomingMessage, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      seen = {
        url: request.url,
        authorization: request.headers.authorization,
        body: JSON.parse(body),
      };
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify({permissions: ['pubsub.topics.get']}));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const gcloud = async (args: readonly string[]) => ({
        code: 0,
        stdout:
          args.join(' ') === 'auth print-access-token' ? 'ya29.token\n' : '',
        stderr: '',
      });
      const check = resourceManagerPermissions(
        gcloud,
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      );
      assert.deepEqual(
        await check('my-project', [
          'pubsub.topics.get',
          'pubsub.topics.create',
        ]),
        ['pubsub.topics.get'],
      );
      assert.deepEqual(seen, {
        url: '/v1/projects/my-project:testIamPermissions',
        authorization: 'Bearer ya29.token',
        body: {permissions: ['pubsub.topics.get', 'pubsub.topics.create']},
      });
    } finally {
      server.close();
    }
  });

  it("asks IAM's testIamPermissions on a service account (where a grant on the account counts); an error names the account", async () => {
    const seen: string[] = [];
    const server = createServer(async (request: IncomingMessage, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      seen.push(`${request.method} ${request.url} ${body}`);
      response.setHeader('Content-Type', 'application/json');
      if (request.url?.includes('missing')) {
        response.statusCode = 404;
        response.end(
          JSON.stringify({error: {message: 'Unknown service account'}}),
        );
        return;
      }
      response.end(
        JSON.stringify({permissions: ['iam.serviceAccounts.actAs']}),
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const check = serviceAccountPermissions(
        async () => ({code: 0, stdout: 'ya29.token\n', stderr: ''}),
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      );
      assert.deepEqual(
        await check('locks-build@my-project.iam.gserviceaccount.com', [
          'iam.serviceAccounts.actAs',
        ]),
        ['iam.serviceAccounts.actAs'],
      );
      assert.deepEqual(seen, [
        'POST /v1/projects/-/serviceAccounts/locks-build%40my-project.iam.gserviceaccount.com:testIamPermissions {"permissions":["iam.serviceAccounts.actAs"]}',
      ]);
      await assert.rejects(
        check('missing@my-project.iam.gserviceaccount.com', ['x']),
        /^Error: could not test your permissions on service account missing@my-project\.iam\.gserviceaccount\.com \(HTTP 404\): Unknown service account$/,
      );
    } finally {
      server.close();
    }
  });

  it('no gcloud login: a clear error, not "no permissions"', async () => {
    const check = resourceManagerPermissions(async () => ({
      code: 1,
      stdout: '',
      stderr:
        'ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected.',
    }));
    await assert.rejects(
      check('my-project', ['x']),
      /could not get gcloud's access token \(run `gcloud auth login`\)/,
    );
  });

  it('all granted: no problem; roles/owner-like grants cover --enable-apis and a connector only when asked', () => {
    const all = neededRoles(options).flatMap(([, permissions]) => permissions);
    assert.deepEqual(missingRoles(options, all), []);
    assert.ok(
      !all.includes('serviceusage.services.enable') &&
        !all.includes('vpcaccess.connectors.use'),
    );
    const more = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
      '--enable-apis',
      '--vpc-connector',
      'c',
    ]);
    assert.deepEqual(
      missingRoles(more, all).map(line => /--role=(\S+)`/.exec(line)?.[1]),
      ['roles/serviceusage.serviceUsageAdmin', 'roles/vpcaccess.user'],
    );
  });
});
