import {STRONG_TARGETS} from '../support/strong-targets';
import {describeWaitingRoomContract} from './waiting-room-contract';

// The waiting room's contract, unchanged on every STRONG store (both Datastore emulators, Firestore native).
for (const target of STRONG_TARGETS) describeWaitingRoomContract(target);
