import {strict as assert} from 'node:assert';
import type {ChildProcess} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {Firestore} from '@google-cloud/firestore';
import {documentId} from '../../shared/stores/firestore/document-id';
import {ACCOUNT_KIND} from '../../functions/example-worker';
import {LOCAL_PROJECT} from '../../infra/local/project';
import {READY_PREFIX} from '../../infra/local/ready-message';
import {assertPortFree, freePort} from '../../infra/ports';
import {spawnChild} from '../../infra/spawn-and-wait';
import {WORK_TOPIC} from '../../infra/topology';
import {configureLocking, LockKind, peek} from '../../shared';
import {currentRuntime} from '../../shared/configuration/config';
import {unrefSleep} from '../../shared/core/backoff';
import type {ValkeyLockBackend} from '../../shared/stores/valkey';
import {delay} from '../support/ids';
import {processesWithMarker} from '../support/stack-process';

const REPO = join(__dirname, '../../..');

/**
 * `npm start` as a newcomer runs it: a child process, on the ports of a firebase.json (a copy with
 * free ports, so a stack already running on this machine does not matter), driven over HTTP and
 * Pub/Sub, then stopped with SIGTERM. Every process it started is found by a marker in its
 * environment, which children inherit, so "nothing left behind" is checked, not assumed.
 */
describe('end to end: npm start, the local stack', function () {
  this.timeout(120_000);
  // One marker per stack started, so each test checks only its own processes.
  const markers: string[] = [];
  const newMarker = () => {
    markers.push(`LOCAL_STACK_TEST_RUN=${randomUUID()}`);
    return markers[markers.length - 1] as string;
  };
  const dir = mkdtempSync(join(tmpdir(), 'local-stack-'));

  after(() => {
    // Only when an assertion failed half-way: nothing of ours may outlive the test run.
    for (const marker of markers)
      for (const pid of processesWithMarker(marker)) killQuietly(pid);
    rmSync(dir, {recursive: true, force: true});
  });

  it('starts, serves acquire, renew and release, runs the worker on a publish, and SIGTERM stops every process it started', async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const config = writeConfig(dir, ports);
    const marker = newMarker();
    const started = Date.now();
    const run = startStack(config, marker, {});
    const ready = await run.line(line => line.startsWith(READY_PREFIX), 90_000);
    console.log(
      `      npm start: ready ${Date.now() - started} ms after spawn`,
    );
    const base = `http://127.0.0.1:${ports.functions}`;
    for (const name of [
      'acquireLock',
      'renewLock',
      'releaseLock',
      'cleanupLocks',
      'exampleWorker',
    ])
      assert.match(ready, new RegExp(`${base}/${name}`));
    assert.match(
      ready,
      new RegExp(`DATASTORE_EMULATOR_HOST=127.0.0.1:${ports.datastore}`),
    );
    assert.match(
      ready,
      new RegExp(`FIRESTORE_EMULATOR_HOST=127.0.0.1:${ports.firestore}`),
    );
    assert.match(
      ready,
      /\| STRONG locks on datastore \(/,
      'the default store, named',
    );
    assert.match(
      ready,
      new RegExp(`PUBSUB_EMULATOR_HOST=127.0.0.1:${ports.pubsub}`),
    );
    assert.match(
      ready,
      new RegExp(`MEMCACHE_SERVERS=127.0.0.1:${ports.memcached}`),
    );

    const identifier = `tour-${randomUUID()}`;
    const acquired = await post(`${base}/acquireLock`, {
      identifier,
      wait: false,
      leaseMs: 60_000,
    });
    assert.equal(acquired.status, 200);
    const {token, expiresAt} = acquired.body as {
      token?: string;
      expiresAt?: string;
    };
    assert.ok(token, 'acquire answered a token');
    assert.ok(expiresAt, 'and, with a lease, when it ends');
    assert.equal(
      (await post(`${base}/acquireLock`, {identifier, wait: false})).status,
      409,
      'held: a second acquire is refused',
    );
    const renewed = await post(`${base}/renewLock`, {identifier, token});
    assert.equal(renewed.status, 200, 'the holder renews its lease');
    assert.ok(
      Date.parse((renewed.body as {expiresAt: string}).expiresAt) >=
        Date.parse(expiresAt),
      'to no earlier an end',
    );
    assert.deepEqual(await post(`${base}/releaseLock`, {identifier, token}), {
      status: 200,
      body: {released: true},
    });
    assert.equal(
      (
        await post(`${base}/acquireLock`, {
          identifier,
          wait: false,
          kind: 'WEAK',
        })
      ).status,
      200,
      'WEAK locks work: memcached runs',
    );

    const account = `tour-${randomUUID()}`;
    const published = await post(
      `http://127.0.0.1:${ports.pubsub}/v1/projects/${LOCAL_PROJECT}/topics/${WORK_TOPIC}:publish`,
      {
        messages: [
          {
            data: Buffer.from(
              JSON.stringify({account, amount: 7, eventId: `${account}-e1`}),
            ).toString('base64'),
          },
        ],
      },
    );
    assert.equal(published.status, 200);
    const db = new Datastore({
      projectId: LOCAL_PROJECT,
      apiEndpoint: `127.0.0.1:${ports.datastore}`,
    });
    let balance: unknown;
    for (
      const deadline = Date.now() + 30_000;
      balance === undefined && Date.now() < deadline;
      await delay(200)
    ) {
      const [entity] = await db.get(db.key([ACCOUNT_KIND, account]));
      balance = entity?.balance;
    }
    assert.equal(balance, 7, 'the worker applied the published event');
    assert.ok(
      run.output().includes(`"identifier":"account:${account}"`),
      'the worker logged its run',
    );

    assert.ok(
      processesWithMarker(marker).length >= 4,
      'npm, node, two emulators (and memcached) are running',
    );
    const stopped = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exited;
    console.log(
      `      npm start: stopped ${Date.now() - stopped} ms after SIGTERM`,
    );
    assert.deepEqual(exit, {code: 0, signal: null});
    await delay(200);
    assert.deepEqual(
      processesWithMarker(marker),
      [],
      'no process started by npm start remains',
    );
    for (const port of Object.values(ports))
      await assertPortFree(port, 'a port of the stopped stack');
  });

  it("--strong-store firestore: STRONG locks and the worker's ledger are in the Firestore native-mode emulator, and the ready line says so", async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const marker = newMarker();
    const run = startStack(writeConfig(dir, ports), marker, {}, [
      '--strong-store',
      'firestore',
    ]);
    const ready = await run.line(line => line.startsWith(READY_PREFIX), 90_000);
    assert.match(
      ready,
      /\| STRONG locks on firestore \(the Firestore native-mode emulator, FIRESTORE_EMULATOR_HOST\) \|/,
    );
    assert.match(
      ready,
      new RegExp(`FIRESTORE_EMULATOR_HOST=127.0.0.1:${ports.firestore}`),
    );
    const base = `http://127.0.0.1:${ports.functions}`;

    const identifier = `tour-${randomUUID()}`;
    const acquired = await post(`${base}/acquireLock`, {
      identifier,
      wait: false,
    });
    assert.equal(acquired.status, 200, JSON.stringify(acquired.body));
    const {token, fence} = acquired.body as {token: string; fence: string};
    const firestore = new Firestore({
      projectId: LOCAL_PROJECT,
      host: `127.0.0.1:${ports.firestore}`,
      ssl: false,
      customHeaders: {Authorization: 'Bearer owner'},
    });
    const datastore = new Datastore({
      projectId: LOCAL_PROJECT,
      apiEndpoint: `127.0.0.1:${ports.datastore}`,
    });
    try {
      configureLocking({firestore});
      assert.equal(
        (await peek(identifier))?.fence?.toString(),
        fence,
        'the lock document is in the native-mode emulator',
      );
      configureLocking({datastore});
      assert.equal(
        await peek(identifier),
        null,
        'and not in the Datastore-mode emulator',
      );
      assert.equal(
        (await post(`${base}/acquireLock`, {identifier, wait: false})).status,
        409,
        'held: a second acquire is refused',
      );
      assert.deepEqual(await post(`${base}/releaseLock`, {identifier, token}), {
        status: 200,
        body: {released: true},
      });
      configureLocking({firestore});
      assert.equal(
        await peek(identifier),
        null,
        'the release removed the document',
      );

      const account = `tour/${randomUUID()}`;
      const published = await post(
        `http://127.0.0.1:${ports.pubsub}/v1/projects/${LOCAL_PROJECT}/topics/${WORK_TOPIC}:publish`,
        {
          messages: [
            {
              data: Buffer.from(
                JSON.stringify({
                  account,
                  amount: 5,
                  eventId: `${randomUUID()}-e1`,
                }),
              ).toString('base64'),
            },
          ],
        },
      );
      assert.equal(published.status, 200);
      let balance: unknown;
      for (
        const deadline = Date.now() + 30_000;
        balance === undefined && Date.now() < deadline;
        await delay(200)
      ) {
        balance = (
          await firestore
            .collection(ACCOUNT_KIND)
            .doc(documentId(account))
            .get()
        ).get('balance');
      }
      assert.equal(
        balance,
        5,
        'the worker applied the published event to its ledger in the native-mode emulator',
      );
    } finally {
      configureLocking();
      await firestore.terminate();
    }

    run.child.kill('SIGTERM');
    assert.deepEqual(await run.exited, {code: 0, signal: null});
    await delay(200);
    assert.deepEqual(
      processesWithMarker(marker),
      [],
      'no process started by npm start remains',
    );
  });

  it("a store that does not exist, or a store with the other store's database, is a clear error before anything starts", async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const config = writeConfig(dir, ports);
    for (const [args, env, message] of [
      [
        ['--strong-store', 'spanner'],
        {},
        /--strong-store must be one of datastore, firestore, got "spanner"/,
      ],
      [
        ['--strong-store', 'firestore'],
        {LOCKS_DATASTORE_DATABASE: 'locks'},
        /LOCKS_DATASTORE_DATABASE must be unset when STRONG locks use the firestore store/,
      ],
    ] as const) {
      const marker = newMarker();
      const run = startStack(config, marker, env, [...args]);
      // Bounded: a stack that starts anyway must fail this test, not hang it.
      assert.deepEqual(
        await Promise.race([
          run.exited,
          // unref'd: this bound must not keep the run open once the stack has exited.
          unrefSleep(30_000).then(() => 'still running after 30 s'),
        ]),
        {code: 1, signal: null},
      );
      assert.match(run.output(), message);
      assert.doesNotMatch(
        run.output(),
        /starting the Firestore emulators/,
        'nothing was started',
      );
      assert.deepEqual(processesWithMarker(marker), []);
    }
  });

  it("--weak-store valkey: the functions take WEAK locks on the stack's Valkey server, and the ready line exports LOCKS_VALKEY_URL", async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const marker = newMarker();
    const run = startStack(writeConfig(dir, ports), marker, {}, [
      '--weak-store',
      'valkey',
    ]);
    try {
      const ready = await run.line(
        line => line.startsWith(READY_PREFIX),
        90_000,
      );
      const url = `redis://127.0.0.1:${ports.valkey}`;
      assert.match(ready, new RegExp(`LOCKS_VALKEY_URL=${url}`));
      const identifier = `valkey-${randomUUID()}`;
      const base = `http://127.0.0.1:${ports.functions}`;
      const acquired = await post(`${base}/acquireLock`, {
        identifier,
        wait: false,
        kind: 'WEAK',
      });
      assert.equal(acquired.status, 200);
      // Seen from here, through the server npm start runs: the lock is on Valkey.
      configureLocking({valkey: url});
      try {
        assert.ok(await peek(identifier, {kind: LockKind.WEAK}));
      } finally {
        await closeWeakBackend();
        configureLocking();
      }
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('npm killed outright (SIGKILL, no signal reaches the stack): the stack notices and stops everything it started', async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const marker = newMarker();
    const run = startStack(writeConfig(dir, ports), marker, {});
    await run.line(line => line.startsWith(READY_PREFIX), 90_000);
    run.child.kill('SIGKILL');
    await run.exited;
    let left = processesWithMarker(marker);
    for (
      const deadline = Date.now() + 15_000;
      left.length > 0 && Date.now() < deadline;
      await delay(200)
    )
      left = processesWithMarker(marker);
    assert.deepEqual(left, [], 'no process started by npm start remains');
  });

  it('a port already taken is a clear error at once; a missing memcached is a clear line', async () => {
    const ports = {
      datastore: await freePort(),
      firestore: await freePort(),
      pubsub: await freePort(),
      functions: await freePort(),
      memcached: await freePort(),
      valkey: await freePort(),
    };
    const config = writeConfig(dir, ports);
    const marker = newMarker();
    const squatter = await listen(ports.functions);
    try {
      const run = startStack(config, marker, {
        MEMCACHED_BINARY: join(dir, 'no-memcached-here'),
      });
      const started = Date.now();
      const exit = await run.exited;
      assert.deepEqual(exit, {code: 1, signal: null});
      assert.ok(Date.now() - started < 20_000, 'no hang');
      assert.match(
        run.output(),
        new RegExp(
          `port ${ports.functions} for the functions \\(firebase.json emulators.functions.port\\) is already in use`,
        ),
      );
      assert.match(
        run.output(),
        /WEAK locks are unavailable: memcached is not installed .*apt-get install -y memcached/,
      );
      await delay(200);
      assert.deepEqual(processesWithMarker(marker), []);
    } finally {
      squatter.close();
    }
  });
});

interface StackRun {
  readonly child: ChildProcess;
  readonly exited: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>;
  output(): string;
  line(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

function startStack(
  config: string,
  marker: string,
  extraEnv: Record<string, string>,
  args: string[] = [],
): StackRun {
  const [name, value] = marker.split('=') as [string, string];
  let output = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  // --ignore-scripts skips `prestart` (the build): this test runs from that very build.
  const stack = spawnChild(
    'npm',
    ['start', '--ignore-scripts', '--', `--config=${config}`, ...args],
    {
      cwd: REPO,
      group: true,
      env: {...process.env, ...extraEnv, [name]: value},
      onOutput: chunk => {
        output += chunk;
        wake();
      },
    },
  );
  const child = stack.process;
  const exited = stack.exited.then(status => {
    wake();
    return status;
  });
  return {
    child,
    exited,
    output: () => output,
    line: (match, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `no such line after ${timeoutMs} ms; output:\n${output}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          const found = output.split('\n').find(match);
          if (found !== undefined) finish(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(new Error(`npm start exited; output:\n${output}`));
        };
        function finish(error?: Error, line?: string) {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(line as string);
        }
        waiters.add(check);
        check();
      }),
  };
}

function writeConfig(
  dir: string,
  ports: Record<
    'datastore' | 'firestore' | 'pubsub' | 'functions' | 'memcached' | 'valkey',
    number
  >,
): string {
  const original = JSON.parse(
    readFileSync(join(REPO, 'firebase.json'), 'utf8'),
  ) as {emulators: Record<string, unknown>};
  for (const [name, port] of Object.entries(ports))
    original.emulators[name] = {host: '127.0.0.1', port};
  const path = join(dir, `firebase-${randomUUID()}.json`);
  writeFileSync(path, JSON.stringify(original));
  return path;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function post(
  url: string,
  body: unknown,
): Promise<{status: number; body: unknown}> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return {status: response.status, body: await response.json()};
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Disconnects the Valkey client the default instance built (no handle may outlive the test). */
async function closeWeakBackend(): Promise<void> {
  const backend = (await currentRuntime().backend(
    LockKind.WEAK,
  )) as ValkeyLockBackend;
  (backend.calls.client as unknown as {disconnect(): void}).disconnect();
}
