import {describeLeaseContract} from '../contract/lease-contract';
import {describeLockContract} from '../contract/lock-contract';
import {MEMORY_FIXTURES} from '../support/memory-backend';

// The public contract suites on the in-memory backend, through createLocking's backend slots: no
// emulator, no memcached.
for (const fixture of MEMORY_FIXTURES) {
  describeLockContract(fixture);
  describeLeaseContract(fixture);
}
