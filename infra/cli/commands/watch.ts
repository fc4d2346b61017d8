import type {CliArguments} from '../arguments';
import {EXIT, type ExitCode} from '../exit-codes';
import {lockTable} from '../table';
import {listedViews} from './list';

const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/**
 * `list` again every interval until Ctrl-C (then exits 0). On a terminal the screen is redrawn;
 * otherwise, and with --json, each refresh is appended (one JSON array a line).
 */
export async function watch(
  args: CliArguments,
  write: (text: string) => void,
  isTerminal: boolean,
): Promise<ExitCode> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    const views = await listedViews(args);
    if (args.json) write(JSON.stringify(views));
    else
      write(
        `${isTerminal ? CLEAR_SCREEN : ''}${new Date().toISOString()}  every ${args.intervalMs} ms, Ctrl-C stops\n\n${lockTable(views, args.kind)}\n`,
      );
    await new Promise<void>(resolve => {
      wake = resolve;
      setTimeout(resolve, args.intervalMs);
    });
  }
  return EXIT.ok;
}
