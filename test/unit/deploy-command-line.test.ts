import {strict as assert} from 'node:assert';
import {inspect} from 'node:util';
import {HelpRequested} from '../../infra/cli/command-line';
import {
  DEPLOY_OPTIONS,
  parseDeployArgs,
  USAGE,
  UsageError,
  type DeployOptions,
} from '../../infra/deploy/deploy-options';
import {assertUsageNamesEveryFlag} from '../support/usage-flags';

const BASE = ['--project', 'my-project', '--region', 'europe-west1'];

type Row =
  | {argv: string[]; options: Partial<DeployOptions>}
  | {argv: string[]; says: RegExp};

/**
 * `npm run deploy`'s command line through parseArgs: what it reads and what it refuses, each
 * before any call is made (exit 2). test/infra/deploy-options.test.ts covers each flag's rule.
 */
const rows: Row[] = [
  {
    argv: BASE,
    options: {project: 'my-project', region: 'europe-west1', dryRun: false},
  },
  {
    argv: ['--region=europe-west1', '--dry-run', '--project=my-project'],
    options: {dryRun: true},
  },
  // The last of a repeated flag wins, as with gcloud.
  {
    argv: [...BASE, '--database', 'first', '--database', 'locks'],
    options: {database: 'locks'},
  },
  {
    argv: [...BASE, '--enable-apis', '--locks-page'],
    options: {enableApis: true, locksPage: true},
  },

  {
    argv: [...BASE, '--force'],
    says: /^unknown argument "--force"\nusage: npm run deploy/,
  },
  {argv: [...BASE, '-p'], says: /^unknown argument "-p"/},
  {argv: [...BASE, 'europe-west2'], says: /^unknown argument "europe-west2"/},
  {
    argv: [...BASE, '--dry-run=false'],
    says: /^unknown argument "--dry-run=false"/,
  },
  {
    argv: ['--project', '--region', 'europe-west1'],
    says: /^--project needs a value/,
  },
  {argv: [...BASE, '--database'], says: /^--database needs a value/},
  {argv: [...BASE, '--database='], says: /^--database needs a value/},
  {argv: [...BASE, '--config', ''], says: /^--config needs a value/},
  {
    argv: ['--project', 'my-project'],
    says: /--project and --region are required/,
  },
  {
    argv: ['--project', 'my_project', '--region', 'europe-west1'],
    says: /--project "my_project" is not a project id/,
  },
  {
    argv: [...BASE, '--database', 'a_b_c_d'],
    says: /--database "a_b_c_d" is not a database id \(4-63 of a-z/,
  },
  {
    argv: [...BASE, '--database-location', 'Europe'],
    says: /is not a location \(like europe-west1 or eur3\)/,
  },
  {
    argv: [...BASE, '--trigger-service-account', 'x@y.com'],
    says: /--trigger-service-account "x@y.com" is not a service account email/,
  },
  {
    argv: [...BASE, '--memcache-servers', '10.0.0.3:11211,'],
    says: /is not a list of HOST:PORT/,
  },
];

describe('deploy: parseDeployArgs(argv)', () => {
  for (const row of rows) {
    if ('options' in row) {
      it(`${inspect(row.argv)} parses`, () => {
        const options = parseDeployArgs(row.argv);
        for (const [name, value] of Object.entries(row.options))
          assert.deepEqual(options[name as keyof DeployOptions], value, name);
      });
    } else {
      it(`${inspect(row.argv)} is refused: ${row.says.source}`, () => {
        assert.throws(
          () => parseDeployArgs(row.argv),
          (error: unknown) =>
            error instanceof UsageError && row.says.test(error.message),
        );
      });
    }
  }

  for (const argv of [
    ['--help'],
    ['-h'],
    [...BASE, '--force', '-h'],
    ['--help', '--project'],
  ])
    it(`${inspect(argv)} asks for the usage, whatever else is wrong`, () => {
      assert.throws(
        () => parseDeployArgs(argv),
        (error: unknown) =>
          error instanceof HelpRequested && error.usage === USAGE,
      );
    });

  it('the usage names every flag', () => {
    assertUsageNamesEveryFlag(USAGE, Object.keys(DEPLOY_OPTIONS));
    assert.match(
      USAGE,
      /^usage: npm run deploy -- --project PROJECT --region REGION/,
    );
  });
});
