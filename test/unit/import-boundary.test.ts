import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import {ESLint} from 'eslint';

const REPO = join(__dirname, '../../..');

/**
 * The rules ESLint reports for `source`, linted in place of the file at `path` (an existing file:
 * the type-aware parser only takes files the tsconfig includes).
 */
async function findings(path: string, source: string): Promise<string[]> {
  const eslint = new ESLint({cwd: REPO});
  const [result] = await eslint.lintText(source, {
    filePath: join(REPO, path),
  });
  return (result?.messages ?? []).map(message => String(message.ruleId));
}

/**
 * `npm run lint` keeps functions/ and infra/ to the library's public API (shared) and its one
 * documented internal entry (shared/internal); tests may reach anywhere.
 */
describe('the import boundary around the library', function () {
  this.timeout(60_000);
  // With CI=true typescript-eslint assumes one lint run over the files on disk and ignores the
  // text given to lintText: it would lint the real file, not the probe.
  const singleRun = process.env.TSESTREE_SINGLE_RUN;
  before(() => {
    process.env.TSESTREE_SINGLE_RUN = 'false';
  });
  after(() => {
    if (singleRun === undefined) delete process.env.TSESTREE_SINGLE_RUN;
    else process.env.TSESTREE_SINGLE_RUN = singleRun;
  });

  it('refuses an import of the library\u2019s inside from functions/ and infra/', async () => {
    for (const [path, source] of [
      [
        'functions/log.ts',
        "import {peekIn} from '../shared/peek';\nvoid peekIn;\n",
      ],
      [
        'infra/cli/table.ts',
        "import {LockKind} from '../../shared/core/kinds';\nvoid LockKind;\n",
      ],
      [
        'infra/cli/table.ts',
        "import {Publisher} from '../../shared/pubsub/publisher';\nvoid Publisher;\n",
      ],
      [
        'infra/cli/table.ts',
        "import {lockKey} from '../../shared/stores/datastore/lock-entity';\nvoid lockKey;\n",
      ],
      [
        'infra/cli/table.ts',
        "import {lockKeyName} from '../../shared/stores/common/lock-key-name';\nvoid lockKeyName;\n",
      ],
    ] as const)
      assert.ok(
        (await findings(path, source)).includes('no-restricted-imports'),
        path,
      );
  });

  it('keeps the stores side by side: one store importing another is refused, stores/common allowed', async () => {
    const probe = 'shared/stores/firestore/firestore-backend.ts';
    assert.ok(
      (
        await findings(
          probe,
          "import {lockKey} from '../datastore/lock-entity';\nvoid lockKey;\n",
        )
      ).includes('no-restricted-imports'),
      'firestore importing datastore',
    );
    assert.ok(
      !(
        await findings(
          probe,
          "import {lockKeyName} from '../common/lock-key-name';\nvoid lockKeyName;\n",
        )
      ).includes('no-restricted-imports'),
      'firestore importing stores/common',
    );
  });

  it('allows shared and shared/internal there, and anything in test/', async () => {
    for (const [path, source] of [
      [
        'functions/log.ts',
        "import {peek} from '../shared';\nimport {defaultLocking} from '../shared/internal';\nimport {lockedHandler} from '../shared/pubsub';\nimport {fencedUpdate} from '../shared/stores/datastore';\nvoid peek;\nvoid defaultLocking;\nvoid lockedHandler;\nvoid fencedUpdate;\n",
      ],
      [
        'test/support/ids.ts',
        "import {peekIn} from '../../shared/operations/peek';\nvoid peekIn;\n",
      ],
    ] as const)
      assert.ok(
        !(await findings(path, source)).includes('no-restricted-imports'),
        path,
      );
  });
});
