import {strict as assert} from 'node:assert';
import {runToEnd} from '../../infra/spawn-and-wait';
import {join} from 'node:path';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {uniqueId} from '../support/ids';

const WORKERS = 4;
const ITERATIONS = 50;

interface CriticalSection {
  readonly fence: string;
  readonly enteredAt: number;
  readonly leftAt: number;
}

/**
 * Mutual exclusion across OS processes, as Cloud Functions instances would contend: 4 processes x
 * 50 unprotected read-modify-writes of one counter, each inside the same STRONG lock.
 */
for (const target of DATASTORE_TARGETS) {
  describe(`mutual exclusion across processes: ${target.name}`, function () {
    this.timeout(180_000);

    it(`${WORKERS} processes x ${ITERATIONS} locked increments leave the counter at exactly ${WORKERS * ITERATIONS}`, async () => {
      const counterId = uniqueId('counter');
      const outputs = await Promise.all(
        Array.from({length: WORKERS}, () =>
          runWorker(target.host(), counterId),
        ),
      );

      const [entity] = await target
        .client()
        .get(target.client().key(['Counter', counterId]));
      assert.equal(
        Number(entity?.value),
        WORKERS * ITERATIONS,
        'no increment was lost',
      );

      const sections = outputs
        .flat()
        .sort((a, b) => (BigInt(a.fence) < BigInt(b.fence) ? -1 : 1));
      assert.equal(sections.length, WORKERS * ITERATIONS);
      assert.equal(
        new Set(sections.map(s => s.fence)).size,
        sections.length,
        'every grant has its own fence',
      );
      for (let i = 1; i < sections.length; i++) {
        const previous = sections[i - 1] as CriticalSection;
        const current = sections[i] as CriticalSection;
        assert.ok(
          previous.leftAt <= current.enteredAt,
          `the section with fence ${current.fence} began before the one with fence ${previous.fence} ended`,
        );
      }
    });
  });
}

async function runWorker(
  host: string,
  counterId: string,
): Promise<CriticalSection[]> {
  const {code, stdout, stderr} = await runToEnd(
    process.execPath,
    [join(__dirname, '../support/counter-worker.js')],
    {
      env: {
        ...process.env,
        DATASTORE_EMULATOR_HOST: host,
        COUNTER_ID: counterId,
        ITERATIONS: String(ITERATIONS),
      },
    },
  );
  if (code !== 0) throw new Error(`counter worker exited ${code}:\n${stderr}`);
  return stdout
    .trim()
    .split('\n')
    .map(line => JSON.parse(line) as CriticalSection);
}
