import {BACKEND_FIXTURES} from '../support/backend-fixtures';
import {describeLeaseContract} from './lease-contract';

// Leases on every store (its emulator, or memcached).
for (const fixture of BACKEND_FIXTURES) describeLeaseContract(fixture);
