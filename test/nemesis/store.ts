import {Datastore} from '@google-cloud/datastore';
import {rmSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cloudSdkRoot} from '../../infra/emulators';
import {freePort} from '../../infra/ports';
import {startService, type RunningService} from '../../infra/processes';
import {DatastoreRpc} from '../../shared/stores/datastore/datastore-rpc';
import {run} from './shell';

export const NEMESIS_PROJECT = 'nemesis-project';

/**
 * The store: the legacy Datastore emulator, in the root namespace, listening on the bridge address
 * the workers reach over their veth. Chosen over the Firestore-in-Datastore-mode emulator because
 * it honours version preconditions (the lock's one-commit release and renewal run as in
 * production), aborts a contended transaction in ~50 ms instead of holding entity locks for
 * seconds (a worker paused or partitioned inside a transaction would otherwise stall everyone),
 * and it can keep its data across a restart (`--store_on_disk`).
 *
 * Measured: it writes its data to disk only when it shuts down cleanly (SIGTERM); after SIGKILL
 * everything since it started is gone. So "kill the store" here is SIGTERM, then a restart on the
 * same port and data directory. It also numbers entity versions from a counter it does not keep:
 * after a restart, versions (so lock fences) start again from 1, which production Datastore never
 * does (versions only grow). `restart()` restores that before anyone reaches the store again, by
 * committing until the counter is past every fence already handed out (see burnVersionsPast).
 */
export class NemesisStore {
  private service: RunningService | undefined;
  readonly datastore: Datastore;
  readonly rpc: DatastoreRpc;

  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly dataDir: string,
  ) {
    this.datastore = emulatorClient(this.host);
    this.rpc = new DatastoreRpc(this.datastore, 5000);
    process.once('exit', this.removeDataSync);
  }

  private readonly removeDataSync = () =>
    rmSync(this.dataDir, {recursive: true, force: true});

  get host(): string {
    return `${this.address}:${this.port}`;
  }

  static async start(address: string): Promise<NemesisStore> {
    const dataDir = await mkdtemp(join(tmpdir(), 'nemesis-datastore-'));
    await run(emulatorScript(), ['create', dataDir], 60_000);
    const store = new NemesisStore(address, await freePort(), dataDir);
    await store.up();
    return store;
  }

  /** Stops it cleanly (its data is saved), leaving the port free. */
  async down(): Promise<void> {
    const service = this.service;
    this.service = undefined;
    await service?.stop();
  }

  async up(): Promise<void> {
    if (this.service) return;
    this.service = await startService({
      name: 'nemesis store (legacy Datastore emulator)',
      port: this.port,
      // The JVM itself, not the wrapper script: stopping then waits for the JVM's own exit, which
      // is when it writes its data (the wrapper exits first, and the group kill after it would cut that short).
      command: 'java',
      args: [
        '-cp',
        emulatorJar(),
        'com.google.cloud.datastore.emulator.CloudDatastore',
        'start',
        `--host=${this.address}`,
        `--port=${this.port}`,
        '--store_on_disk=True',
        '--consistency=1.0',
        this.dataDir,
      ],
      probe: async () =>
        (
          await fetch(`http://${this.host}/`, {
            signal: AbortSignal.timeout(1000),
          })
        ).ok,
      readyTimeoutMs: 60_000,
    });
  }

  /**
   * Commits deletes of keys that do not exist (measured: each takes a version, touches no data, and
   * 20,000 in one commit take about a second) until the store's version counter is past `fence`.
   * Resolves how many versions were burnt.
   */
  async burnVersionsPast(fence: bigint): Promise<bigint> {
    // A client of its own: the long-lived one's channel may still be backing off from the outage.
    const rpc = new DatastoreRpc(emulatorClient(this.host), 30_000);
    const partitionId = await rpc.partition(undefined);
    const burn = (count: number) =>
      rpc.commit(
        undefined,
        Array.from({length: count}, (_, index) => ({
          delete: {
            partitionId,
            path: [{kind: 'NemesisVersionBurn', name: `burn-${index}`}],
          },
        })),
      );
    const first = (await burn(1))[0]?.version ?? 0n;
    let last = first;
    for (let round = 0; last <= fence && round < 1000; round++) {
      const results = await burn(
        Number(fence - last + 1n > 20_000n ? 20_000n : fence - last + 1n),
      );
      last = results[results.length - 1]?.version ?? last;
    }
    if (last > fence) return last - first;
    throw new Error(`could not move the store's versions past ${fence}`);
  }

  async stop(): Promise<void> {
    await this.down();
    process.removeListener('exit', this.removeDataSync);
    await rm(this.dataDir, {recursive: true, force: true});
  }
}

/**
 * The client treats an endpoint as an emulator (plain text, no credentials) only on localhost or
 * when DATASTORE_EMULATOR_HOST is set, and it decides in its constructor: the variable is set for
 * that moment only, so the rest of this process (a test run's other clients) is left as it was.
 */
function emulatorClient(host: string): Datastore {
  const before = process.env.DATASTORE_EMULATOR_HOST;
  process.env.DATASTORE_EMULATOR_HOST = host;
  try {
    return new Datastore({projectId: NEMESIS_PROJECT, apiEndpoint: host});
  } finally {
    if (before === undefined) delete process.env.DATASTORE_EMULATOR_HOST;
    else process.env.DATASTORE_EMULATOR_HOST = before;
  }
}

function emulatorJar(): string {
  return join(
    cloudSdkRoot(),
    'platform/cloud-datastore-emulator/CloudDatastore.jar',
  );
}

function emulatorScript(): string {
  return join(
    cloudSdkRoot(),
    'platform/cloud-datastore-emulator/cloud_datastore_emulator',
  );
}
