import {isPortNumber} from '../shared/internal';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

/**
 * The local stack's ports and emulator settings, read from one place: the `emulators` section of
 * firebase.json. `memcached` is ours (Firebase has no memcached emulator); Firebase ignores it.
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface LocalStackConfig {
  /** The Firestore-in-Datastore-mode emulator (DATASTORE_EMULATOR_HOST). */
  readonly datastore: Endpoint;
  /** The Firestore native-mode emulator (FIRESTORE_EMULATOR_HOST): Firebase's own `firestore` entry. */
  readonly firestore: Endpoint;
  readonly pubsub: Endpoint;
  readonly functions: Endpoint;
  readonly memcached: Endpoint;
  /** A Valkey-protocol server for WEAK locks on Valkey (`npm start -- --weak-store valkey`); ours, like memcached. Default port: 6379. */
  readonly valkey: Endpoint;
}

/** The repository's firebase.json (this file is compiled to dist/infra). */
export const DEFAULT_FIREBASE_JSON = join(__dirname, '../../firebase.json');

export function readLocalStackConfig(
  path: string = DEFAULT_FIREBASE_JSON,
): LocalStackConfig {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
    emulators?: Record<string, unknown>;
  };
  const emulators = parsed.emulators;
  if (!emulators || typeof emulators !== 'object')
    throw new Error(`${path} has no "emulators" section`);
  const config: LocalStackConfig = {
    datastore: endpoint(emulators, 'datastore', path),
    firestore: endpoint(emulators, 'firestore', path),
    pubsub: endpoint(emulators, 'pubsub', path),
    functions: endpoint(emulators, 'functions', path),
    memcached: endpoint(emulators, 'memcached', path),
    valkey:
      emulators.valkey === undefined
        ? {host: '127.0.0.1', port: 6379}
        : endpoint(emulators, 'valkey', path),
  };
  // Two services on one port would pass every "is it free" check and then fail half-started.
  const owners = new Map<number, string>();
  for (const [name, {port}] of Object.entries(config)) {
    const owner = owners.get(port);
    if (owner)
      throw new Error(
        `${path}: emulators.${name}.port ${port} is also emulators.${owner}.port; each service needs its own port`,
      );
    owners.set(port, name);
  }
  return config;
}

function endpoint(
  emulators: Record<string, unknown>,
  name: string,
  path: string,
): Endpoint {
  const entry = emulators[name] as {host?: unknown; port?: unknown} | undefined;
  const port = entry?.port;
  if (!isPortNumber(port)) {
    throw new Error(
      `${path}: emulators.${name}.port must be a port number, got ${JSON.stringify(port)}`,
    );
  }
  const host = entry?.host ?? '127.0.0.1';
  // The stack binds loopback only: the emulators have no authentication.
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(
      `${path}: emulators.${name}.host must be 127.0.0.1 (the local stack listens on loopback only), got ${JSON.stringify(host)}`,
    );
  }
  return {host: '127.0.0.1', port};
}

/** The `functions` entry of firebase.json: what gets uploaded, and how it is built first. */
export interface FunctionsSource {
  /** Absolute path of the source folder. */
  readonly source: string;
  readonly predeploy: readonly string[];
  readonly ignore: readonly string[];
  /** The Cloud Functions runtime the deploy targets (`nodejs24`): named here once, for firebase and for `npm run deploy`. */
  readonly runtime: string;
}

export function readFunctionsSource(
  path: string = DEFAULT_FIREBASE_JSON,
): FunctionsSource {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
    functions?: unknown;
  };
  const entries = Array.isArray(parsed.functions)
    ? parsed.functions
    : [parsed.functions];
  const entry = entries[0] as
    | {
        source?: unknown;
        predeploy?: unknown;
        ignore?: unknown;
        runtime?: unknown;
      }
    | undefined;
  if (entries.length !== 1 || typeof entry?.source !== 'string')
    throw new Error(`${path}: expected one "functions" entry with a "source"`);
  const strings = (value: unknown, name: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every(item => typeof item === 'string'))
      throw new Error(`${path}: functions.${name} must be a list of strings`);
    return value;
  };
  if (typeof entry.runtime !== 'string' || !/^nodejs\d+$/.test(entry.runtime)) {
    throw new Error(
      `${path}: functions.runtime must name a Node.js runtime such as "nodejs24", got ${JSON.stringify(entry.runtime)}`,
    );
  }
  return {
    source: join(dirname(path), entry.source),
    predeploy: strings(entry.predeploy, 'predeploy'),
    ignore: strings(entry.ignore, 'ignore'),
    runtime: entry.runtime,
  };
}
