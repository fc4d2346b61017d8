import {strict as assert} from 'node:assert';
import {parseCliOptions} from '../../infra/cli/arguments';
import {list} from '../../infra/cli/commands/list';
import {show} from '../../infra/cli/commands/show';
import {EXIT} from '../../infra/cli/exit-codes';
import {configureLocking, Lock} from '../../shared';
import {createDatastoreBackend} from '../../shared/stores/datastore/create-datastore-backend';
import {runCliProcess} from '../support/cli-process';
import {DATASTORE_TARGETS} from '../support/datastore-targets';
import {TEST_PROJECT} from '../support/global-setup';
import {uniqueId} from '../support/ids';
import {parkBehind, type Room} from '../support/waiting-room-fill';

const legacy = DATASTORE_TARGETS[0]!;

/**
 * The CLI shows lockedHandler's waiting room: `list` each lock's queue depth and oldest wait,
 * `show` the parked messages themselves (never their data), a vacant lock's room included. The
 * commands run in this process on the Datastore store's own room (see waiting-room-fill.ts), and
 * the built CLI once.
 */
describe('the CLI and the waiting room', function () {
  this.timeout(60_000);
  let room: Room;
  const run = async (argv: string[]) => {
    const {args} = parseCliOptions(argv, {});
    const out: string[] = [];
    const write = (text: string) => out.push(text);
    const code =
      args.command === 'list'
        ? await list(args, write)
        : await show(args, write);
    return {code, text: out.join('\n')};
  };

  before(async () => {
    const real = await createDatastoreBackend(legacy.client());
    const filled = parkBehind(real);
    room = filled.room;
    configureLocking({strong: filled.backend});
  });
  after(() => configureLocking());

  it('list: QUEUE and OLDEST WAIT columns; --json has queueDepth and oldestWaitMs', async () => {
    const prefix = uniqueId('cli-queue');
    const busy = await Lock.acquire(`${prefix}/busy`, {leaseMs: 60_000});
    const idle = await Lock.acquire(`${prefix}/idle`, {leaseMs: 60_000});
    assert.ok(busy && idle);
    try {
      await room.park(busy.identifier, 2);
      const table = await run(['list', '--prefix', prefix]);
      assert.equal(table.code, EXIT.ok);
      const [header, ...rows] = table.text.split('\n');
      assert.match(header ?? '', /HOLDER\s+QUEUE\s+OLDEST WAIT$/);
      const busyRow = rows.find(row => row.startsWith(busy.identifier));
      const idleRow = rows.find(row => row.startsWith(idle.identifier));
      assert.match(busyRow ?? '', /\s2\s+\d+(ms|\.\ds)$/, busyRow);
      assert.match(idleRow ?? '', /\s0\s+-$/, idleRow);

      const json = await run(['list', '--prefix', prefix, '--json']);
      const views = JSON.parse(json.text) as Record<string, unknown>[];
      const busyView = views.find(view => view.identifier === busy.identifier);
      const idleView = views.find(view => view.identifier === idle.identifier);
      assert.equal(busyView?.queueDepth, 2);
      assert.ok((busyView?.oldestWaitMs as number) >= 0);
      assert.equal(idleView?.queueDepth, 0);
      assert.equal(idleView?.oldestWaitMs, undefined);
    } finally {
      await room.drain(busy.identifier, busy.token);
      await idle.release();
    }
  });

  it('show: the lock, then its room (seq, parked at, waited, message id, ordering key, bytes), oldest first; --limit caps it', async () => {
    const held = await Lock.acquire(uniqueId('cli-show-queue'), {
      leaseMs: 60_000,
    });
    assert.ok(held);
    try {
      await room.park(held.identifier, 3);
      const shown = await run(['show', held.identifier]);
      assert.equal(shown.code, EXIT.ok);
      assert.match(shown.text, /^queue\s+3 parked, oldest waiting \d/m);
      const lines = shown.text.split('\n');
      const header = lines.findIndex(line => line.startsWith('SEQ'));
      assert.match(
        lines[header] ?? '',
        /^SEQ\s+PARKED AT\s+WAITED\s+MESSAGE ID\s+ORDERING KEY\s+BYTES$/,
      );
      const parked = lines.slice(header + 1);
      assert.equal(parked.length, 3);
      assert.deepEqual(
        parked.map(line => line.split(/\s+/)[3]),
        ['fill-0', 'fill-1', 'fill-2'],
      );
      assert.deepEqual(
        parked.map(line => line.split(/\s+/)[4]),
        ['-', 'odd', '-'],
      );

      const json = JSON.parse(
        (await run(['show', held.identifier, '--json', '--limit', '2'])).text,
      ) as {queueDepth: number; parked: Record<string, unknown>[]};
      assert.equal(json.queueDepth, 3);
      assert.deepEqual(
        json.parked.map(record => [record.messageId, record.bytes]),
        [
          ['fill-0', 11],
          ['fill-1', 11],
        ],
      );
      assert.ok(
        json.parked.every(record => !('data' in record)),
        'never the data',
      );
    } finally {
      await room.drain(held.identifier, held.token);
    }
  });

  it('show of a vacant lock (released outside lockedHandler with messages parked): no holder, its room, exit 0', async () => {
    const held = await Lock.acquire(uniqueId('cli-vacant'), {leaseMs: 60_000});
    assert.ok(held);
    await room.park(held.identifier, 2);
    await room.vacate(held.identifier, held.token);
    try {
      const shown = await run(['show', held.identifier]);
      assert.equal(shown.code, EXIT.ok);
      assert.match(shown.text, /^no holder: the STRONG lock .* is vacant/);
      assert.match(shown.text, /fill-0[\s\S]*fill-1/);
      const json = JSON.parse(
        (await run(['show', held.identifier, '--json'])).text,
      ) as {vacant: boolean; parked: unknown[]};
      assert.deepEqual([json.vacant, json.parked.length], [true, 2]);
      const free = await run(['show', uniqueId('cli-no-room')]);
      assert.equal(free.code, EXIT.notFound, 'no holder and no room');
    } finally {
      await room.drain(held.identifier);
    }
  });

  it("the built CLI prints the store's own room", async () => {
    const held = await Lock.acquire(uniqueId('cli-process-queue'), {
      leaseMs: 60_000,
    });
    assert.ok(held);
    try {
      await room.park(held.identifier, 2);
      const env = {
        GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
        DATASTORE_EMULATOR_HOST: legacy.host(),
        METADATA_SERVER_DETECTION: 'none',
      };
      const shown = await runCliProcess(['show', held.identifier], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^queue\s+2 parked/m);
      assert.match(shown.stdout, /fill-0[\s\S]*fill-1/);
      const listed = await runCliProcess(
        ['list', '--prefix', held.identifier, '--json'],
        env,
      );
      assert.equal(
        (JSON.parse(listed.stdout) as {queueDepth: number}[])[0]?.queueDepth,
        2,
      );
    } finally {
      await room.drain(held.identifier, held.token);
    }
  });
});
