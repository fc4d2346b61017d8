import {strict as assert} from 'node:assert';
import {assertCredentials} from '../../infra/cli/credentials';
import {readCliEnvironment} from '../../infra/cli/environment';
import {CliError, EXIT} from '../../infra/cli/exit-codes';

const NO_ADC = new Error(
  'Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.',
);

/** The CLI's credential check: asked only where a real store is used, and told in one line, exit 3. */
describe('cli: assertCredentials', () => {
  for (const [store, variable] of [
    ['datastore', 'DATASTORE_EMULATOR_HOST'],
    ['firestore', 'FIRESTORE_EMULATOR_HOST'],
  ] as const) {
    const env = {LOCKS_STRONG_STORE: store};
    it(`${store}: its emulator needs no credentials (none are looked for)`, async () => {
      let looked = 0;
      const withEmulator = {...env, [variable]: '127.0.0.1:1'};
      await assertCredentials(
        readCliEnvironment(withEmulator),
        withEmulator,
        async () => {
          looked++;
        },
      );
      assert.equal(looked, 0);
    });

    it(`${store}: none found is exit 3 naming ${variable} and gcloud auth application-default login`, async () => {
      await assert.rejects(
        assertCredentials(readCliEnvironment(env), env, () =>
          Promise.reject(NO_ADC),
        ),
        (error: unknown) =>
          error instanceof CliError &&
          error.exitCode === EXIT.configuration &&
          error.message.includes(variable) &&
          error.message.includes('gcloud auth application-default login') &&
          !error.message.includes('\n'),
      );
    });

    it(`${store}: credentials found: nothing to say`, async () => {
      await assertCredentials(readCliEnvironment(env), env, async () => ({}));
    });
  }

  it("the other store's emulator does not count", async () => {
    const env = {
      LOCKS_STRONG_STORE: 'firestore',
      DATASTORE_EMULATOR_HOST: '127.0.0.1:1',
    };
    await assert.rejects(
      assertCredentials(readCliEnvironment(env), env, () =>
        Promise.reject(NO_ADC),
      ),
      /FIRESTORE_EMULATOR_HOST/,
    );
  });
});
