import {strict as assert} from 'node:assert';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
  DEFAULT_FIREBASE_JSON,
  readLocalStackConfig,
} from '../../infra/firebase-config';

/** firebase.json's emulators section: the ports `npm start` uses, one per service. */
describe('infra: firebase.json emulators', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firebase-config-'));
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('names the Firestore native-mode emulator as Firebase does ("firestore"), on a port of its own', () => {
    const config = readLocalStackConfig();
    assert.equal(config.firestore.host, '127.0.0.1');
    const ports = Object.values(config).map(endpoint => endpoint.port);
    assert.equal(
      new Set(ports).size,
      ports.length,
      `every service has its own port: ${JSON.stringify(config)}`,
    );
  });

  it('two services on one port are refused, naming both', () => {
    const parsed = JSON.parse(readFileSync(DEFAULT_FIREBASE_JSON, 'utf8')) as {
      emulators: Record<string, {port: number}>;
    };
    parsed.emulators.firestore = {
      ...parsed.emulators.firestore,
      port: parsed.emulators.datastore?.port as number,
    };
    const path = join(dir, 'firebase.json');
    writeFileSync(path, JSON.stringify(parsed));
    assert.throws(
      () => readLocalStackConfig(path),
      /emulators\.firestore\.port \d+ is also emulators\.datastore\.port/,
    );
  });

  it('a firebase.json without the firestore entry is a clear error', () => {
    const parsed = JSON.parse(readFileSync(DEFAULT_FIREBASE_JSON, 'utf8')) as {
      emulators: Record<string, unknown>;
    };
    delete parsed.emulators.firestore;
    const path = join(dir, 'no-firestore.json');
    writeFileSync(path, JSON.stringify(parsed));
    assert.throws(
      () => readLocalStackConfig(path),
      /emulators\.firestore\.port must be a port number/,
    );
  });
});
