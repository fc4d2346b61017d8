import type {CitedTest} from './report';

/** Issue 7's scenarios the normal suite already covers deterministically, by test name. */
export const CITED_TESTS: readonly CitedTest[] = [
  {
    scenario:
      'Ambiguous commit (the write lands, the client sees an error), on both Datastore emulators',
    tests: [
      'test/faults/datastore-faults.test.ts: "an ambiguous insert (written, but the answer lost) leaves the caller holding its own lock"',
      'test/faults/datastore-faults.test.ts: "an ambiguous insert while waiting does not make the caller wait on itself"',
      'test/faults/datastore-faults.test.ts: "an ambiguous release (deleted, but the answer lost) reports true"',
      'test/contract/weak-locks.test.ts: "an ambiguous add (stored, but the answer lost) leaves the caller holding its own lock"',
    ],
  },
  {
    scenario: 'memcached killed',
    tests: [
      'test/contract/weak-locks.test.ts: "memcached stopped mid-run: WEAK calls fail fast with BACKEND_UNAVAILABLE, STRONG is unaffected"',
    ],
  },
  {
    scenario: 'Paused holder (stalls past its steal time)',
    tests: [
      'test/contract/lock-contract.test.ts: "release() after a steal returns false and leaves the thief holding the lock" (every backend)',
      'test/contract/lock-contract.test.ts: "the fence strictly increases across grants: release, re-acquire and steal" (both Datastore emulators)',
      'test/faults/datastore-faults.test.ts: "a release by a stale holder reads, finds another token, and rolls back"',
    ],
  },
  {
    scenario:
      'Holder process paused (SIGSTOP) past its lease, then resumed, on both Datastore emulators and memcached',
    tests: [
      'test/faults/lease-pause.test.ts: "taken over after the lease; once resumed its signal aborts within about a renewal interval, its release() is false, and the new holder keeps the lock"',
    ],
  },
  {
    scenario: 'Pub/Sub publish failure during a re-queue',
    tests: [
      'test/functions/locked-handler.test.ts: "a failed re-publish makes the invocation throw, so Pub/Sub redelivers the original"',
    ],
  },
  {
    scenario:
      "Security: wrong, empty and other holders' tokens; LOCKS_API_TOKEN; no token in any answer or log line",
    tests: [
      'test/functions/http-functions.test.ts: "409 not_holder for another token, and the lock stays untouched"',
      'test/functions/http-functions.test.ts: "400 invalid_request for an empty token"',
      'test/faults/datastore-faults.test.ts: "three thieves racing for one stale lock: at most one wins, and the winner holds it"',
      'test/functions/http-functions.test.ts: "401 without the right bearer token, on all three functions; 200 with it"',
      'test/functions/http-functions.test.ts: "an unauthenticated cleanup deletes nothing"',
      'test/unit/bearer-auth.test.ts (the check compares SHA-256 digests with crypto.timingSafeEqual: constant time by construction, whatever the lengths)',
      'test/functions/http-functions.test.ts: "409 lock_held when held: at once with wait: false, after waitForMs otherwise" (the answer is exactly {error}, no token)',
      'test/functions/http-functions.test.ts: "writes one structured JSON line per request, with severity, and never the token"',
    ],
  },
  {
    scenario: 'Store unavailable (injected) and unreachable',
    tests: [
      'test/faults/datastore-faults.test.ts: "a store that stays unavailable fails with BACKEND_UNAVAILABLE after the bounded retries"',
      'test/faults/datastore-faults.test.ts: "a release that cannot reach the store rejects; the lock stays for its owner to retry"',
      'test/faults/datastore-faults.test.ts: "fails with BACKEND_UNAVAILABLE within the bounded retries, no hang"',
    ],
  },
];
