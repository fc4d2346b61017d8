import {strict as assert} from 'node:assert';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runToEnd} from '../../infra/spawn-and-wait';

const REPO = join(__dirname, '../../..');

/**
 * What a user does: `npm run pack` (the library's package, dist/shared), install the tarball into a
 * fresh project next to TypeScript and the clients of what it uses (Datastore and Pub/Sub: the
 * store clients are optional peers, so nothing else comes), and compile a function against the
 * public types with `strict` and without `skipLibCheck`, so every .d.ts the package ships, and
 * every one it imports, is checked. The install resolves from npm's cache when it can (the
 * repository's own `npm ci` has filled it).
 */
describe('package: a consumer compiles against the packed tarball', function () {
  this.timeout(300_000);
  let project = '';

  before(async () => {
    project = mkdtempSync(join(tmpdir(), 'locking-consumer-'));
    const [packed] = JSON.parse(
      await run(
        'npm',
        ['pack', './dist/shared', '--json', '--pack-destination', project],
        REPO,
      ),
    ) as [{filename: string}];
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'locking-consumer',
        version: '1.0.0',
        private: true,
      }),
    );
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(project, packed.filename),
        `typescript@${installedVersion('typescript')}`,
        `@types/node@${installedVersion('@types/node')}`,
        `@google-cloud/functions-framework@${installedVersion('@google-cloud/functions-framework')}`,
        `@google-cloud/datastore@${installedVersion('@google-cloud/datastore')}`,
        `@google-cloud/pubsub@${installedVersion('@google-cloud/pubsub')}`,
      ],
      project,
    );
    writeFileSync(join(project, 'index.ts'), USER_FUNCTION);
  });
  after(() => {
    if (project) rmSync(project, {recursive: true, force: true});
  });

  it('installs no client the project did not ask for: the other stores\u2019 clients are optional peers', () => {
    for (const absent of ['@google-cloud/firestore', 'memjs'])
      assert.equal(
        existsSync(join(project, 'node_modules', absent)),
        false,
        `${absent} was installed`,
      );
    assert.ok(
      existsSync(
        join(project, 'node_modules/cloud-functions-locking/package.json'),
      ),
    );
  });

  // Both ways a project resolves packages: through `exports` (node16/nodenext) and through `types` (node10).
  for (const [resolution, module] of [
    ['nodenext', 'nodenext'],
    ['node10', 'commonjs'],
  ] as const) {
    it(`strict, no skipLibCheck, moduleResolution ${resolution}: 0 errors, and the output loads`, async () => {
      const outDir = `out-${resolution}`;
      writeFileSync(
        join(project, `tsconfig.${resolution}.json`),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            skipLibCheck: false,
            target: 'ES2022',
            module,
            moduleResolution: resolution,
            outDir,
            types: ['node'],
          },
          files: ['index.ts'],
        }),
      );
      const output = await run(
        process.execPath,
        [
          join(project, 'node_modules/typescript/bin/tsc'),
          '-p',
          `tsconfig.${resolution}.json`,
        ],
        project,
      ).catch((error: Error) => error.message);
      assert.equal(output.trim(), '', `tsc reported errors:\n${output}`);
      // Loading the compiled function loads the package's entry and nothing else: no client, no connection.
      const exported = await run(
        process.execPath,
        [
          '-e',
          `console.log(Object.keys(require('./${outDir}/index.js')).sort().join(','))`,
        ],
        project,
      );
      assert.equal(
        exported.trim(),
        'applyEvent,exportOnce,rebuildIndex,recordExport',
      );
    });
  }
});

/** A user's function file: it imports lock, Lock, lockedHandler and LockKind, and uses each. */
const USER_FUNCTION = `
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { Datastore } from '@google-cloud/datastore';
import { configureLocking, lock, Lock, LockKind } from 'cloud-functions-locking';
import { fencedUpdate } from 'cloud-functions-locking/datastore';
import { lockedHandler } from 'cloud-functions-locking/pubsub';

// The datastore entry adds the client's field to the configuration.
export function recordExport(datastore: Datastore): void {
  configureLocking({ datastore, namespace: 'exports' });
  void fencedUpdate;
}

export const rebuildIndex = lock('rebuild-index', { wait: false }).wrap(async (shard: number) => shard * 2);

export async function exportOnce(): Promise<string> {
  const held = await Lock.acquire('nightly-export', { kind: LockKind.STRONG, wait: false, stealAfterMs: 60_000 });
  if (!held) return 'busy';
  try {
    const fence: bigint = held.fence;
    return fence.toString();
  } finally {
    await held.release();
  }
}

interface MessagePublished {
  readonly message?: { readonly data?: string; readonly attributes?: Record<string, string> };
}

export const applyEvent = lockedHandler(
  { identifier: (event: CloudEvent<MessagePublished>) => \`account:\${event.data?.message?.attributes?.account ?? 'none'}\`, kind: LockKind.WEAK },
  async (event) => {
    const weak = await Lock.acquire('audit', { kind: LockKind.WEAK, wait: false });
    const none: undefined = weak?.fence;
    await weak?.release();
    return [event.id, none];
  },
);
cloudEvent('applyEvent', applyEvent);
`;

function installedVersion(name: string): string {
  return (
    JSON.parse(
      readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8'),
    ) as {version: string}
  ).version;
}

/** Resolves with stdout; rejects with stdout and stderr when the command fails. */
async function run(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<string> {
  const result = await runToEnd(command, args, {
    cwd,
    env: {...process.env, npm_config_update_notifier: 'false'},
  });
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.output}`);
  return result.stdout;
}
