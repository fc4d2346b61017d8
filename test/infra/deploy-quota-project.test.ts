import {strict as assert} from 'node:assert';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
  QUOTA_PROJECT_VARIABLE,
  useQuotaProject,
} from '../../infra/deploy/quota-project';
import {runToEnd} from '../../infra/spawn-and-wait';

const REPO = join(__dirname, '../../..');

/**
 * The quota project of the deploy's Pub/Sub and Cloud Scheduler clients. Checked on the clients
 * themselves, in a child process with user credentials that name no quota project (as `gcloud auth
 * application-default login` writes them): the credential each client builds carries the deployed
 * project. Nothing is sent: building the credential reads only the file.
 */
describe('infra: deploy, the quota project of the Pub/Sub and Scheduler clients', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'deploy-quota-'));
    mkdirSync(join(home, '.config/gcloud'), {recursive: true});
    writeFileSync(
      join(home, '.config/gcloud/application_default_credentials.json'),
      JSON.stringify({
        type: 'authorized_user',
        client_id: 'c.apps.googleusercontent.com',
        client_secret: 's',
        refresh_token: 'r',
      }),
    );
  });
  afterEach(() => rmSync(home, {recursive: true, force: true}));

  async function quotaProjects(
    extra: Record<string, string> = {},
  ): Promise<{said: string; pubsub: string; scheduler: string}> {
    const script = `
      const {useQuotaProject} = require(${JSON.stringify(join(REPO, 'dist/infra/deploy/quota-project.js'))});
      const {PubSub} = require('@google-cloud/pubsub');
      const {CloudSchedulerClient} = require('@google-cloud/scheduler');
      (async () => {
        const said = useQuotaProject('my-project', process.env).line;
        const pubsub = new PubSub({projectId: 'my-project'});
        const scheduler = new CloudSchedulerClient();
        const a = await pubsub.auth.getClient();
        const b = await scheduler.auth.getClient();
        console.log(JSON.stringify({said, pubsub: a.quotaProjectId, scheduler: b.quotaProjectId}));
        await pubsub.close();
        await scheduler.close();
      })();`;
    const result = await runToEnd(process.execPath, ['-e', script], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        CLOUDSDK_CONFIG: join(home, '.config/gcloud'),
        METADATA_SERVER_DETECTION: 'none',
        ...extra,
      },
    });
    assert.equal(result.code, 0, result.output);
    return JSON.parse(result.stdout) as {
      said: string;
      pubsub: string;
      scheduler: string;
    };
  }

  it('credentials without a quota project: both clients bill the deployed project, and the deploy says so', async () => {
    assert.deepEqual(await quotaProjects(), {
      said: `Pub/Sub and Cloud Scheduler calls are billed to quota project my-project, the deployed project (${QUOTA_PROJECT_VARIABLE}; set it to use another)`,
      pubsub: 'my-project',
      scheduler: 'my-project',
    });
  });

  it('a quota project the caller set is kept, and named', async () => {
    const found = await quotaProjects({[QUOTA_PROJECT_VARIABLE]: 'billing-1'});
    assert.equal(found.pubsub, 'billing-1');
    assert.equal(found.scheduler, 'billing-1');
    assert.match(
      found.said,
      /quota project billing-1 \(GOOGLE_CLOUD_QUOTA_PROJECT, as set\)$/,
    );
  });

  it('sets the variable only when it is unset', () => {
    const env: Record<string, string | undefined> = {};
    assert.equal(useQuotaProject('p', env).set, true);
    assert.equal(env[QUOTA_PROJECT_VARIABLE], 'p');
    assert.equal(useQuotaProject('q', env).set, false);
    assert.equal(env[QUOTA_PROJECT_VARIABLE], 'p');
  });
});
