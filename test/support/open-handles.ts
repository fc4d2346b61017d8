/**
 * Mocha runs without `--exit`, so a handle a test leaves open (a socket, a server, a child process,
 * a timer that is not unref'd) would keep the run from ever ending, or be hidden by the services
 * stopping under it (a client's socket to memcached closes when memcached does). This check turns
 * that into a failure that names what is left: it waits a few seconds for closing handles to
 * finish closing, then lists what is still open beyond a snapshot taken earlier, and exits 1.
 */
export type HandleSnapshot = readonly string[];

/** The kinds of what keeps the event loop alive now (`TCPSocketWrap`, `Timeout`, `ProcessWrap`, ...). */
export function openHandles(): HandleSnapshot {
  return process.getActiveResourcesInfo();
}

/** The handles open now beyond `baseline`, by kind. */
export function handlesBeyond(baseline: HandleSnapshot): string[] {
  const left = [...baseline];
  return process.getActiveResourcesInfo().filter(kind => {
    const index = left.indexOf(kind);
    if (index === -1) return true;
    left.splice(index, 1);
    return false;
  });
}

export async function expectNoHandlesBeyond(
  baseline: HandleSnapshot,
  when: string,
  graceMs = Number(process.env.OPEN_HANDLES_GRACE_MS ?? 5000),
): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    // Taken with no timer of ours pending: the one awaited below has fired.
    const open = handlesBeyond(baseline);
    if (open.length === 0) return;
    if (Date.now() > deadline) {
      console.error(
        `handles left open ${when} (${graceMs} ms after it): ${open.join(', ')}\n` +
          describeHandles().join('\n'),
      );
      // Otherwise the run would hang here, never reporting anything.
      process.exit(1);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Node's own list of open handles, said in words where it can (which socket, which child). */
function describeHandles(): string[] {
  const handles = (
    process as unknown as {_getActiveHandles(): unknown[]}
  )._getActiveHandles();
  return handles.map(handle => {
    const h = handle as {
      constructor: {name: string};
      spawnargs?: string[];
      remoteAddress?: string;
      remotePort?: number;
      localPort?: number;
      address?: () => unknown;
      fd?: number;
    };
    if (h.spawnargs) return `  child process: ${h.spawnargs.join(' ')}`;
    if (h.remotePort !== undefined)
      return `  socket ${h.localPort} -> ${h.remoteAddress}:${h.remotePort}`;
    if (h.fd !== undefined && h.fd <= 2) return `  stdio fd ${h.fd}`;
    if (typeof h.address === 'function')
      return `  ${h.constructor.name} ${JSON.stringify(h.address())}`;
    return `  ${h.constructor.name}`;
  });
}

/** As a mocha fixture of its own (the unit tier): nothing open after the last test that was not before the first. */
let beforeTests: HandleSnapshot = [];
export function mochaGlobalSetup(): void {
  beforeTests = openHandles();
}
export function mochaGlobalTeardown(): Promise<void> {
  return expectNoHandlesBeyond(beforeTests, 'after the last test');
}
