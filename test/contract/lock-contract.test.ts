import {BACKEND_FIXTURES} from '../support/backend-fixtures';
import {describeLockContract} from './lock-contract';

// The lock contract on every store (its emulator, or memcached).
for (const fixture of BACKEND_FIXTURES) describeLockContract(fixture);
