import type {StrongStore} from '../../shared';
import {FUNCTIONS} from '../topology';
import {shellAssignment} from './client-environment';

export const READY_PREFIX = '[npm start] ready:';

export interface ReadyFacts {
  readonly baseUrl: string;
  /** What a client of the stack needs in its environment (clientEnvironment): the CLI run with it sees the functions' locks. */
  readonly env: Record<string, string>;
  /** Which emulator the functions' STRONG locks (and the example worker's ledger) use. */
  readonly strongStore: StrongStore;
  readonly workTopic: string;
  readonly cleanup: string;
  readonly startedInMs: number;
}

/** One line a script can wait for (it starts with READY_PREFIX), then a copy-paste example. */
export function readyMessage(facts: ReadyFacts): string {
  const urls = FUNCTIONS.map(({name}) => `${facts.baseUrl}/${name}`).join(' ');
  const page = `${facts.baseUrl}/`;
  const env = Object.entries(facts.env)
    .map(([name, value]) => shellAssignment(name, value))
    .join(' ');
  const post = (name: string, body: string) =>
    `curl -s -X POST ${facts.baseUrl}/${name} -H 'Content-Type: application/json' -d '${body}'`;
  const strong =
    facts.strongStore === 'firestore'
      ? 'STRONG locks on firestore (the Firestore native-mode emulator, FIRESTORE_EMULATOR_HOST)'
      : 'STRONG locks on datastore (the Firestore-in-Datastore-mode emulator, DATASTORE_EMULATOR_HOST)';
  return [
    `${READY_PREFIX} ${urls} | locks page ${page} | ${strong} | env: ${env} | work topic ${facts.workTopic} | cleanupLocks ${facts.cleanup} | started in ${facts.startedInMs} ms`,
    '',
    '  # acquire, then release with the token it answered:',
    `  TOKEN=$(${post('acquireLock', '{"identifier": "report", "wait": false}')} | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`,
    `  ${post('releaseLock', '{"identifier": "report", "token": "\'"$TOKEN"\'"}')}`,
    `  # the live locks page: open ${page} ; the CLI, with the env below: npx cloud-functions-locking list`,
    '  # a client of the emulators:',
    `  export ${env}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}
