import {Datastore} from '@google-cloud/datastore';
import {appliedLedger} from '../support/worker-applied';
import type {RoomStore} from './waiting-room-rig';

/** The waiting room's scenarios on a Datastore emulator at `host` (the reliability run's own). */
export function datastoreRoomStore(
  name: string,
  host: string,
  project: string,
): RoomStore {
  return {
    name,
    env: {LOCKS_STRONG_STORE: 'datastore', DATASTORE_EMULATOR_HOST: host},
    ledger: appliedLedger({
      datastore: new Datastore({projectId: project, apiEndpoint: host}),
    }),
  };
}
