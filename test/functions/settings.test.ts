import {strict as assert} from 'node:assert';
import {spawnSync, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {
  functionSettings,
  readSettings,
  SettingsError,
  type FunctionSettings,
} from '../../functions/settings';
import {freePort} from '../../infra/ports';
import {configureLocking, peek} from '../../shared';
import {
  firestoreNativeClient,
  firestoreNativeHost,
} from '../support/firestore-native-target';
import {startFunctionServer} from '../support/function-server';
import {LEGACY_HOST_VARIABLE, TEST_PROJECT} from '../support/global-setup';
import {uniqueId} from '../support/ids';
import {
  makeTestCertificates,
  type TestCertificates,
} from '../support/tls-certificates';
import {waitForHttp} from '../support/worker-server';

const FUNCTIONS_ENTRY = join(__dirname, '../../functions/index.js');

/** Loads the functions in a fresh Node process, as a cold start does, with `env` on top of ours. */
function coldStart(env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKS_')),
  );
  return spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(FUNCTIONS_ENTRY)})`],
    {
      env: {...clean, ...env},
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
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
      const loaded = coldStart({[name]: value});
      assert.notEqual(
        loaded.status,
        0,
        'the functions loaded with a bad setting',
      );
      assert.match(
        loaded.stderr,
        new RegExp(
          `SettingsError: ${name} must be .*${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      );
    });
  }

  it('a cold start with good settings loads', () => {
    const loaded = coldStart({
      LOCKS_MAX_BODY_BYTES: '1000',
      LOCKS_HTTP_MAX_WAIT_MS: '200',
      LOCKS_DATASTORE_DATABASE: 'locks',
      LOCKS_API_TOKEN: 't',
    });
    assert.equal(loaded.status, 0, loaded.stderr);
  });

  it('a good configuration is parsed once: every request is served the same settings', () => {
    const env = {
      LOCKS_MAX_BODY_BYTES: '1000',
      LOCKS_DATASTORE_DATABASE: 'locks',
    };
    const first = functionSettings(env);
    assert.equal(functionSettings(env), first);
    assert.deepEqual(first, readSettings(env));
    assert.equal(first.maxBodyBytes, 1000);
    assert.equal(first.datastoreDatabase, 'locks');
  });

  it('"(default)" names the default database, as leaving it unset does', () => {
    assert.equal(
      readSettings({LOCKS_DATASTORE_DATABASE: '(default)'}).datastoreDatabase,
      undefined,
    );
  });

  describe('the STRONG store: LOCKS_STRONG_STORE and its database', () => {
    type StoreSettings = Pick<
      FunctionSettings,
      'strongStore' | 'datastoreDatabase' | 'firestoreDatabase'
    >;
    const good: [Record<string, string>, StoreSettings][] = [
      [
        {},
        {
          strongStore: 'datastore',
          datastoreDatabase: undefined,
          firestoreDatabase: undefined,
        },
      ],
      [
        {LOCKS_STRONG_STORE: ''},
        {
          strongStore: 'datastore',
          datastoreDatabase: undefined,
          firestoreDatabase: undefined,
        },
      ],
      [
        {LOCKS_STRONG_STORE: 'datastore', LOCKS_DATASTORE_DATABASE: 'locks'},
        {
          strongStore: 'datastore',
          datastoreDatabase: 'locks',
          firestoreDatabase: undefined,
        },
      ],
      [
        {LOCKS_STRONG_STORE: 'firestore'},
        {
          strongStore: 'firestore',
          datastoreDatabase: undefined,
          firestoreDatabase: undefined,
        },
      ],
      [
        {LOCKS_STRONG_STORE: 'firestore', LOCKS_FIRESTORE_DATABASE: 'locks'},
        {
          strongStore: 'firestore',
          datastoreDatabase: undefined,
          firestoreDatabase: 'locks',
        },
      ],
      [
        {
          LOCKS_STRONG_STORE: 'firestore',
          LOCKS_FIRESTORE_DATABASE: '(default)',
        },
        {
          strongStore: 'firestore',
          datastoreDatabase: undefined,
          firestoreDatabase: undefined,
        },
      ],
      // An empty variable is an unset one (a deploy tool may blank a variable rather than remove it).
      [
        {LOCKS_STRONG_STORE: 'firestore', LOCKS_DATASTORE_DATABASE: ''},
        {
          strongStore: 'firestore',
          datastoreDatabase: undefined,
          firestoreDatabase: undefined,
        },
      ],
    ];
    for (const [env, expected] of good) {
      it(`${JSON.stringify(env)} reads as ${JSON.stringify(expected)}`, () => {
        const {strongStore, datastoreDatabase, firestoreDatabase} =
          readSettings(env);
        assert.deepEqual(
          {strongStore, datastoreDatabase, firestoreDatabase},
          expected,
        );
      });
    }

    const bad: [Record<string, string>, RegExp][] = [
      [
        {LOCKS_STRONG_STORE: 'spanner'},
        /^LOCKS_STRONG_STORE must be one of datastore, firestore, got "spanner"$/,
      ],
      [
        {LOCKS_STRONG_STORE: 'Firestore'},
        /^LOCKS_STRONG_STORE must be one of datastore, firestore, got "Firestore"$/,
      ],
      [
        {LOCKS_STRONG_STORE: 'firestore', LOCKS_FIRESTORE_DATABASE: 'Locks_DB'},
        /^LOCKS_FIRESTORE_DATABASE must be a database id .*got "Locks_DB"$/,
      ],
      [
        {LOCKS_FIRESTORE_DATABASE: 'locks'},
        /^LOCKS_FIRESTORE_DATABASE must be unset when STRONG locks use the datastore store \(LOCKS_STRONG_STORE is unset\), got "locks".*Set LOCKS_DATASTORE_DATABASE instead, or LOCKS_STRONG_STORE=firestore$/,
      ],
      [
        {LOCKS_STRONG_STORE: 'datastore', LOCKS_FIRESTORE_DATABASE: 'locks'},
        /^LOCKS_FIRESTORE_DATABASE must be unset when STRONG locks use the datastore store \(LOCKS_STRONG_STORE=datastore\), got "locks"/,
      ],
      [
        {LOCKS_STRONG_STORE: 'firestore', LOCKS_DATASTORE_DATABASE: 'locks'},
        /^LOCKS_DATASTORE_DATABASE must be unset when STRONG locks use the firestore store \(LOCKS_STRONG_STORE=firestore\), got "locks".*Set LOCKS_FIRESTORE_DATABASE instead, or LOCKS_STRONG_STORE=datastore$/,
      ],
      [
        {
          LOCKS_STRONG_STORE: 'firestore',
          LOCKS_DATASTORE_DATABASE: '(default)',
        },
        /^LOCKS_DATASTORE_DATABASE must be unset when STRONG locks use the firestore store/,
      ],
    ];
    for (const [env, message] of bad) {
      it(`${JSON.stringify(env)} is refused with a SettingsError naming the variable and the value`, () => {
        assert.throws(
          () => readSettings(env),
          (error: unknown) =>
            error instanceof SettingsError && message.test(error.message),
        );
      });
    }

    it("a cold start with a store and the other store's database fails, naming both", () => {
      const loaded = coldStart({
        LOCKS_STRONG_STORE: 'firestore',
        LOCKS_DATASTORE_DATABASE: 'locks',
      });
      assert.notEqual(
        loaded.status,
        0,
        'the functions loaded with a combination that cannot be meant',
      );
      assert.match(
        loaded.stderr,
        /SettingsError: LOCKS_DATASTORE_DATABASE must be unset when STRONG locks use the firestore store \(LOCKS_STRONG_STORE=firestore\)/,
      );
    });

    it('a cold start with LOCKS_STRONG_STORE=firestore builds no client (the store is chosen, not connected to)', () => {
      const loaded = spawnSync(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(FUNCTIONS_ENTRY)}); const loaded = Object.keys(require.cache).filter((path) => /@google-cloud[\\/](firestore|datastore)[\\/]/.test(path)); console.log(JSON.stringify(loaded.length))`,
        ],
        {
          env: {
            ...process.env,
            LOCKS_STRONG_STORE: 'firestore',
            LOCKS_FIRESTORE_DATABASE: 'locks',
          },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.equal(
        loaded.stdout.trim(),
        '0',
        'neither the Firestore nor the Datastore client was loaded at cold start',
      );
    });
  });

  describe('functions served with LOCKS_STRONG_STORE=firestore', () => {
    const DATABASE = 'locks';
    let server: ChildProcess | undefined;
    let port: number;
    before(async () => {
      port = await freePort();
      server = startFunctionServer('acquireLock', port, {
        LOCKS_STRONG_STORE: 'firestore',
        LOCKS_FIRESTORE_DATABASE: DATABASE,
        FIRESTORE_EMULATOR_HOST: firestoreNativeHost(),
        // A Datastore emulator is reachable too, so a lock sent to the wrong store would be granted there, not fail.
        DATASTORE_EMULATOR_HOST: process.env[LEGACY_HOST_VARIABLE],
      });
      await waitForHttp(port);
    });
    after(() => {
      configureLocking();
      if (server?.pid) process.kill(-server.pid, 'SIGKILL');
    });

    it('write the lock to that database of the Firestore native-mode emulator, and not to Datastore', async () => {
      const identifier = uniqueId('served-firestore');
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({identifier, wait: false}),
      });
      const body = (await response.json()) as {token?: string; fence?: string};
      assert.equal(response.status, 200, JSON.stringify(body));
      configureLocking({firestore: firestoreNativeClient(DATABASE)});
      const lock = await peek(identifier);
      assert.equal(
        lock?.fence?.toString(),
        body.fence,
        'the lock is in the named native-mode database',
      );
      configureLocking({firestore: firestoreNativeClient()});
      assert.equal(
        await peek(identifier),
        null,
        'the default native-mode database has no such lock',
      );
      configureLocking({
        datastore: new Datastore({
          projectId: TEST_PROJECT,
          apiEndpoint: process.env[LEGACY_HOST_VARIABLE] as string,
        }),
      });
      assert.equal(await peek(identifier), null, 'Datastore has no such lock');
    });
  });
});

/** LOCKS_VALKEY_CA and LOCKS_VALKEY_AUTH: checked with LOCKS_VALKEY_URL at cold start, never echoed. */
describe('function settings: Valkey TLS and auth', () => {
  let certs: TestCertificates;
  before(() => {
    certs = makeTestCertificates();
  });
  after(() => certs.remove());

  it('a rediss:// URL with its CA (real or \\n line breaks), or IAM auth without a password, reads as valkey', () => {
    for (const env of [
      {
        LOCKS_VALKEY_URL: 'rediss://10.0.0.3:6379',
        LOCKS_VALKEY_CA: certs.caPem,
      },
      {
        LOCKS_VALKEY_URL: 'rediss://10.0.0.3:6379',
        LOCKS_VALKEY_CA: certs.caPem.replace(/\n/g, '\\n'),
        LOCKS_VALKEY_AUTH: 'iam',
      },
      {
        LOCKS_VALKEY_URL: 'redis://10.0.0.3:6379',
        LOCKS_VALKEY_AUTH: 'password',
      },
    ])
      assert.equal(readSettings(env).weakStore, 'valkey', JSON.stringify(env));
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'a CA with redis://',
      {LOCKS_VALKEY_URL: 'redis://10.0.0.3:6379', LOCKS_VALKEY_CA: 'CA'},
      /^LOCKS_VALKEY_CA /,
    ],
    [
      'a CA that is no certificate',
      {LOCKS_VALKEY_URL: 'rediss://10.0.0.3', LOCKS_VALKEY_CA: 'hunter2'},
      /^LOCKS_VALKEY_CA must be the PEM text/,
    ],
    [
      'IAM auth with a password in the URL',
      {
        LOCKS_VALKEY_URL: 'rediss://:hunter2@10.0.0.3',
        LOCKS_VALKEY_AUTH: 'iam',
      },
      /^LOCKS_VALKEY_AUTH=iam sends an access token as the password: LOCKS_VALKEY_URL must carry none$/,
    ],
    [
      'an unknown auth mode',
      {LOCKS_VALKEY_URL: 'rediss://10.0.0.3', LOCKS_VALKEY_AUTH: 'IAM'},
      /^LOCKS_VALKEY_AUTH must be one of password, iam, got "IAM"$/,
    ],
    [
      'a CA without a URL',
      {LOCKS_VALKEY_CA: 'hunter2'},
      /^LOCKS_VALKEY_CA must be/,
    ],
    [
      'IAM auth without a URL',
      {LOCKS_VALKEY_AUTH: 'iam'},
      /^LOCKS_VALKEY_AUTH is set but LOCKS_VALKEY_URL is not/,
    ],
  ];
  for (const [what, env, message] of bad)
    it(`${what} is a SettingsError naming the variable, never the password or CA text`, () => {
      const realCa = env.LOCKS_VALKEY_CA === 'CA' ? certs.caPem : undefined;
      const withCa = realCa ? {...env, LOCKS_VALKEY_CA: realCa} : env;
      assert.throws(
        () => readSettings(withCa),
        (error: unknown) =>
          error instanceof SettingsError &&
          message.test(error.message) &&
          !/hunter2|MII/.test(error.message),
      );
    });
});
