import { strict as assert } from 'node:assert';
import { parseDeployArgs, UsageError } from '../../infra/deploy/deploy-options';

describe('infra: deploy arguments', () => {
  it('reads the flags, in both spellings, with the documented defaults', () => {
    assert.deepEqual(parseDeployArgs(['--project', 'my-project', '--region=europe-west1', '--dry-run']), {
      project: 'my-project',
      region: 'europe-west1',
      dryRun: true,
      schedulerServiceAccount: 'locks-scheduler@my-project.iam.gserviceaccount.com',
      runtimeServiceAccount: undefined,
      config: undefined,
      database: '(default)',
      databaseLocation: undefined,
    });
    const options = parseDeployArgs(['--project=my-project', '--region', 'us-central1', '--scheduler-service-account', 'cron@my-project.iam.gserviceaccount.com', '--runtime-service-account=run@x.iam.gserviceaccount.com']);
    assert.equal(options.dryRun, false);
    assert.equal(options.schedulerServiceAccount, 'cron@my-project.iam.gserviceaccount.com');
    assert.equal(options.runtimeServiceAccount, 'run@x.iam.gserviceaccount.com');
    const named = parseDeployArgs(['--project', 'my-project', '--region', 'europe-west1', '--database', 'locks', '--database-location=nam5']);
    assert.equal(named.database, 'locks');
    assert.equal(named.databaseLocation, 'nam5');
  });

  const refused: [string, string[], RegExp][] = [
    ['no project', ['--region', 'europe-west1'], /--project and --region are required/],
    ['no region', ['--project', 'my-project'], /--project and --region are required/],
    ['a flag without its value', ['--project', '--region', 'europe-west1'], /--project needs a value/],
    ['an unknown flag', ['--project', 'my-project', '--region', 'europe-west1', '--force'], /unknown argument "--force"/],
    ['a project id with capitals', ['--project', 'My-Project', '--region', 'europe-west1'], /is not a project id/],
    ['a zone for a region', ['--project', 'my-project', '--region', 'europe-west1-b'], /is not a region/],
    ['a database id with capitals', ['--project', 'my-project', '--region', 'europe-west1', '--database', 'Locks'], /--database "Locks" is not a database id/],
    ['a database id too short', ['--project', 'my-project', '--region', 'europe-west1', '--database', 'abc'], /is not a database id/],
    ['a zone for a database location', ['--project', 'my-project', '--region', 'europe-west1', '--database-location', 'europe-west1-b'], /is not a location/],
  ];
  for (const [what, argv, message] of refused) {
    it(`refuses ${what}, before any call`, () => {
      assert.throws(() => parseDeployArgs(argv), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }
});
