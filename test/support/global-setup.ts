import {startEmulator} from '../../infra/emulators';
import {startMemcached} from '../../infra/memcached';
import {startValkey} from '../../infra/valkey';
import type {RunningService} from '../../infra/processes';
import {closeSharedClients} from './closed-at-end';
import {
  expectNoHandlesBeyond,
  openHandles,
  type HandleSnapshot,
} from './open-handles';

/**
 * Mocha global fixture: the real emulators, memcached and a Valkey-protocol server every test tier talks to, started on free ports for
 * this run and stopped after it. A missing or broken emulator fails the run here; nothing skips. After the
 * last test, any handle a test left open fails the run (mocha runs without `--exit`), and so does
 * anything of a service left after it stopped.
 */
let services: RunningService[] = [];
let beforeServices: HandleSnapshot = [];
let withServices: HandleSnapshot = [];

export async function mochaGlobalSetup(): Promise<void> {
  beforeServices = openHandles();
  // No metadata-server probe (and no warning about it) from the Google clients in tests.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.GOOGLE_CLOUD_PROJECT = TEST_PROJECT;
  const started = await Promise.allSettled([
    startEmulator('datastore-legacy'),
    startEmulator('datastore-firestore'),
    startMemcached(),
    startEmulator('pubsub'),
    startEmulator('firestore-native'),
    startValkey(),
  ]);
  services = started.flatMap(result =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const failure = started.find(result => result.status === 'rejected');
  if (failure) {
    await stopServices();
    throw failure.reason;
  }
  const [legacy, firestore, memcached, pubsub, firestoreNative, valkey] =
    services as [
      RunningService,
      RunningService,
      RunningService,
      RunningService,
      RunningService,
      RunningService,
    ];
  process.env[LEGACY_HOST_VARIABLE] = legacy.host;
  process.env[FIRESTORE_HOST_VARIABLE] = firestore.host;
  process.env[MEMCACHE_HOST_VARIABLE] = memcached.host;
  process.env[VALKEY_HOST_VARIABLE] = valkey.host;
  process.env[FIRESTORE_NATIVE_HOST_VARIABLE] = firestoreNative.host;
  // The Pub/Sub client reads this itself; there is one Pub/Sub emulator for the whole run.
  process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
  withServices = openHandles();
}

export async function mochaGlobalTeardown(): Promise<void> {
  // Checked while the services still run: stopping them would close the tests' sockets for them.
  closeSharedClients();
  await expectNoHandlesBeyond(withServices, 'by the tests');
  await stopServices();
  await expectNoHandlesBeyond(beforeServices, 'by the stopped services');
}

async function stopServices(): Promise<void> {
  await Promise.all(services.map(service => service.stop()));
  services = [];
}

export const TEST_PROJECT = 'cloud-functions-locking-test';
export const LEGACY_HOST_VARIABLE = 'TEST_DATASTORE_LEGACY_HOST';
export const FIRESTORE_HOST_VARIABLE = 'TEST_DATASTORE_FIRESTORE_HOST';
export const FIRESTORE_NATIVE_HOST_VARIABLE = 'TEST_FIRESTORE_NATIVE_HOST';
export const MEMCACHE_HOST_VARIABLE = 'TEST_MEMCACHE_HOST';
export const VALKEY_HOST_VARIABLE = 'TEST_VALKEY_HOST';
