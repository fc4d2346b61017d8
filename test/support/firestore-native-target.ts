import {Firestore} from '@google-cloud/firestore';
import {FIRESTORE_NATIVE_HOST_VARIABLE, TEST_PROJECT} from './global-setup';

/** The Firestore native-mode emulator's host; read at test time (the global fixture sets it after spec files load). */
export function firestoreNativeHost(): string {
  const value = process.env[FIRESTORE_NATIVE_HOST_VARIABLE];
  if (!value)
    throw new Error(
      `${FIRESTORE_NATIVE_HOST_VARIABLE} is not set: the global test fixture did not start the Firestore native mode emulator`,
    );
  return value;
}

/** A client of the native-mode emulator: `host` and `ssl: false` rather than FIRESTORE_EMULATOR_HOST, so tests never share it by accident. */
export function firestoreNativeClient(databaseId?: string): Firestore {
  return new Firestore({
    projectId: TEST_PROJECT,
    host: firestoreNativeHost(),
    ssl: false,
    customHeaders: {Authorization: 'Bearer owner'},
    ...(databaseId ? {databaseId} : {}),
  });
}
