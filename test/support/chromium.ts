import {execFileSync} from 'node:child_process';
import puppeteer, {type Browser} from 'puppeteer-core';

/**
 * Debian's chromium (`npm run setup` installs it when missing), driven by puppeteer-core: no browser is
 * ever downloaded. A machine without it fails here, saying what to install.
 */
export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      'chromium is not installed: run npm run setup (or apt-get install -y chromium)',
    );
  }
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // As root in a container: no sandbox; /dev/shm may be small. The machine's network is closed:
    // no background connections to Google's hosts, which would be refused at every start.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
