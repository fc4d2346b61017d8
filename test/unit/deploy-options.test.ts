import {strict as assert} from 'node:assert';
import {parseDeployArgs, UsageError} from '../../infra/deploy/deploy-options';

describe('infra: deploy arguments', () => {
  it('reads the flags, in both spellings, with the documented defaults', () => {
    assert.deepEqual(
      parseDeployArgs([
        '--project',
        'my-project',
        '--region=europe-west1',
        '--dry-run',
      ]),
      {
        project: 'my-project',
        region: 'europe-west1',
        dryRun: true,
        enableApis: false,
        schedulerServiceAccount:
          'locks-scheduler@my-project.iam.gserviceaccount.com',
        // Dedicated accounts by default: never the default compute or Cloud Build accounts.
        runtimeServiceAccount:
          'locks-runtime@my-project.iam.gserviceaccount.com',
        buildServiceAccount: 'locks-build@my-project.iam.gserviceaccount.com',
        triggerServiceAccount:
          'locks-trigger@my-project.iam.gserviceaccount.com',
        config: undefined,
        strongStore: 'datastore',
        database: '(default)',
        databaseLocation: undefined,
        memcacheServers: undefined,
        vpcConnector: undefined,
        vpcEgress: undefined,
      },
    );
    const options = parseDeployArgs([
      '--project=my-project',
      '--region',
      'us-central1',
      '--scheduler-service-account',
      'cron@my-project.iam.gserviceaccount.com',
      '--runtime-service-account=run@x.iam.gserviceaccount.com',
    ]);
    assert.equal(options.dryRun, false);
    assert.equal(
      options.schedulerServiceAccount,
      'cron@my-project.iam.gserviceaccount.com',
    );
    assert.equal(
      options.runtimeServiceAccount,
      'run@x.iam.gserviceaccount.com',
    );
    const named = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
      '--database',
      'locks',
      '--database-location=nam5',
    ]);
    assert.equal(named.database, 'locks');
    assert.equal(named.databaseLocation, 'nam5');
    const native = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
      '--strong-store',
      'firestore',
      '--database=locks',
    ]);
    assert.equal(native.strongStore, 'firestore');
    assert.equal(native.database, 'locks');
    const weak = parseDeployArgs([
      '--project',
      'my-project',
      '--region',
      'europe-west1',
      '--enable-apis',
      '--memcache-servers',
      '10.0.0.3:11211,10.0.0.4:11211',
      '--vpc-connector',
      'locks-connector',
      '--vpc-egress=private-ranges-only',
      '--build-service-account',
      'b@other.iam.gserviceaccount.com',
      '--trigger-service-account=t@my-project.iam.gserviceaccount.com',
    ]);
    assert.equal(weak.enableApis, true);
    assert.equal(weak.memcacheServers, '10.0.0.3:11211,10.0.0.4:11211');
    assert.equal(weak.vpcConnector, 'locks-connector');
    assert.equal(weak.vpcEgress, 'private-ranges-only');
    assert.equal(weak.buildServiceAccount, 'b@other.iam.gserviceaccount.com');
    assert.equal(
      weak.triggerServiceAccount,
      't@my-project.iam.gserviceaccount.com',
    );
  });

  it('--locks-page is a switch: on when given, absent (the page left alone) when not', () => {
    assert.equal(
      parseDeployArgs([
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--locks-page',
        '--dry-run',
      ]).locksPage,
      true,
    );
    assert.ok(
      !(
        'locksPage' in
        parseDeployArgs(['--project', 'my-project', '--region', 'europe-west1'])
      ),
    );
    assert.throws(
      () =>
        parseDeployArgs([
          '--project',
          'my-project',
          '--region',
          'europe-west1',
          '--locks-page=yes',
        ]),
      /unknown argument "--locks-page=yes"/,
    );
  });

  const refused: [string, string[], RegExp][] = [
    [
      'no project',
      ['--region', 'europe-west1'],
      /--project and --region are required/,
    ],
    [
      'no region',
      ['--project', 'my-project'],
      /--project and --region are required/,
    ],
    [
      'a flag without its value',
      ['--project', '--region', 'europe-west1'],
      /--project needs a value/,
    ],
    [
      'an unknown flag',
      ['--project', 'my-project', '--region', 'europe-west1', '--force'],
      /unknown argument "--force"/,
    ],
    [
      'a project id with capitals',
      ['--project', 'My-Project', '--region', 'europe-west1'],
      /is not a project id/,
    ],
    [
      'a zone for a region',
      ['--project', 'my-project', '--region', 'europe-west1-b'],
      /is not a region/,
    ],
    [
      'a database id with capitals',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--database',
        'Locks',
      ],
      /--database "Locks" is not a database id/,
    ],
    [
      'a database id too short',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--database',
        'abc',
      ],
      /is not a database id/,
    ],
    [
      'a memcached server without a port',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--memcache-servers',
        '10.0.0.3',
      ],
      /--memcache-servers "10.0.0.3" is not a list of HOST:PORT/,
    ],
    [
      'credentials in MEMCACHE_SERVERS',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--memcache-servers',
        'u:p@10.0.0.3:11211',
      ],
      /is not a list of HOST:PORT/,
    ],
    [
      'an unknown egress setting',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--vpc-connector',
        'c',
        '--vpc-egress',
        'some',
      ],
      /--vpc-egress "some" must be private-ranges-only or all/,
    ],
    [
      'an egress setting without a connector',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--vpc-egress',
        'all',
      ],
      /--vpc-egress needs --vpc-connector/,
    ],
    [
      'a user for a service account',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--runtime-service-account',
        'me@example.com',
      ],
      /--runtime-service-account "me@example.com" is not a service account email/,
    ],
    [
      'a STRONG store that does not exist',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--strong-store',
        'spanner',
      ],
      /--strong-store "spanner" must be one of datastore, firestore/,
    ],
    [
      'a zone for a database location',
      [
        '--project',
        'my-project',
        '--region',
        'europe-west1',
        '--database-location',
        'europe-west1-b',
      ],
      /is not a location/,
    ],
  ];
  for (const [what, argv, message] of refused) {
    it(`refuses ${what}, before any call`, () => {
      assert.throws(
        () => parseDeployArgs(argv),
        (error: unknown) =>
          error instanceof UsageError && message.test(error.message),
      );
    });
  }
});
