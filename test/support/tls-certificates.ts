import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/** A throwaway CA, a server certificate it signed for 127.0.0.1, and a second CA that signed nothing. */
export interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly otherCaPem: string;
  remove(): void;
}

/**
 * Made with `openssl` (P-256 keys: fast), valid for a day. A missing openssl throws: a TLS test
 * that cannot make its certificates fails, it never skips.
 */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'valkey-tls-'));
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'});
    } catch (error) {
      throw new Error(
        `openssl ${args[0]} failed (install openssl): ${(error as Error).message}`,
      );
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  for (const ca of ['ca', 'other-ca'])
    openssl(
      'req',
      '-x509',
      ...key,
      '-nodes',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${ca} for tests`,
    );
  openssl(
    'req',
    ...key,
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.cnf',
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    otherCaPem: readFileSync(join(dir, 'other-ca.crt'), 'utf8'),
    remove: () => rmSync(dir, {recursive: true, force: true}),
  };
}
