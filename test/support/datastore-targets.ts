import {Datastore} from '@google-cloud/datastore';
import {
  FIRESTORE_HOST_VARIABLE,
  LEGACY_HOST_VARIABLE,
  TEST_PROJECT,
} from './global-setup';

/** The two Datastore emulators every STRONG test runs against, unchanged. */
export interface DatastoreTarget {
  readonly name: string;
  /** Reads the host at test time: the global fixture sets it after the spec files are loaded. */
  host(): string;
  client(namespace?: string): Datastore;
  /** Measured: whether a stale `baseVersion` on delete is refused (legacy) or ignored (Firestore-mode emulator 1.19.9). */
  readonly honoursPreconditions: boolean;
}

function target(
  name: string,
  variable: string,
  honoursPreconditions: boolean,
): DatastoreTarget {
  const host = () => {
    const value = process.env[variable];
    if (!value)
      throw new Error(
        `${variable} is not set: the global test fixture did not start the ${name}`,
      );
    return value;
  };
  return {
    name,
    honoursPreconditions,
    host,
    client: namespace =>
      new Datastore({
        projectId: TEST_PROJECT,
        apiEndpoint: host(),
        ...(namespace ? {namespace} : {}),
      }),
  };
}

export const DATASTORE_TARGETS: readonly DatastoreTarget[] = [
  target('legacy Datastore emulator', LEGACY_HOST_VARIABLE, true),
  target(
    'Firestore in Datastore mode emulator',
    FIRESTORE_HOST_VARIABLE,
    false,
  ),
];
