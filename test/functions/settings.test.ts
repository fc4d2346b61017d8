import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { functionSettings, readSettings } from '../../functions/settings';

const FUNCTIONS_ENTRY = join(__dirname, '../../functions/index.js');

/** Loads the functions in a fresh Node process, as a cold start does, with `env` on top of ours. */
function coldStart(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKS_')));
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(FUNCTIONS_ENTRY)})`], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** LOCKS_* settings: checked once, at cold start, loudly. */
describe('function settings', function () {
  this.timeout(60_000);

  const bad: [string, string][] = [
    ['LOCKS_MAX_BODY_BYTES', '64k'],
    ['LOCKS_HTTP_MAX_WAIT_MS', '-1'],
    ['LOCKS_CLEANUP_MAX_AGE_MS', '1.5'],
    ['LOCKS_DATASTORE_DATABASE', 'Locks_DB'],
  ];
  for (const [name, value] of bad) {
    it(`a cold start with ${name}=${value} fails, naming the variable and the value`, () => {
      const loaded = coldStart({ [name]: value });
      assert.notEqual(loaded.status, 0, 'the functions loaded with a bad setting');
      assert.match(loaded.stderr, new RegExp(`SettingsError: ${name} must be .*${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    });
  }

  it('a cold start with good settings loads', () => {
    const loaded = coldStart({ LOCKS_MAX_BODY_BYTES: '1000', LOCKS_HTTP_MAX_WAIT_MS: '200', LOCKS_DATASTORE_DATABASE: 'locks', LOCKS_API_TOKEN: 't' });
    assert.equal(loaded.status, 0, loaded.stderr);
  });

  it('a good configuration is parsed once: every request is served the same settings', () => {
    const env = { LOCKS_MAX_BODY_BYTES: '1000', LOCKS_DATASTORE_DATABASE: 'locks' };
    const first = functionSettings(env);
    assert.equal(functionSettings(env), first);
    assert.deepEqual(first, readSettings(env));
    assert.equal(first.maxBodyBytes, 1000);
    assert.equal(first.datastoreDatabase, 'locks');
  });

  it('"(default)" names the default database, as leaving it unset does', () => {
    assert.equal(readSettings({ LOCKS_DATASTORE_DATABASE: '(default)' }).datastoreDatabase, undefined);
  });
});
