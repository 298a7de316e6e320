/**
 * The interactive shell: `midonet-cli` with no arguments on a terminal. Each line is one command line
 * of midonet-cli (the same parser, `--` sequences included), with the global options given to the
 * shell's environment ($MIDONET_STORE, $MIDONET_API, the config file); history is kept in
 * ~/.midonet_cli_history (1,000 lines); Tab completes kinds, verbs, options and object names
 * (complete.ts); `exit`, `quit` or Ctrl-D leave.
 *
 * Built on Node's own readline (node:readline/promises): maintained with Node itself, it edits lines,
 * keeps history and calls a completer function, which is all a command shell needs; prompt libraries
 * (inquirer, enquirer) ask questions rather than edit command lines, and would be one more dependency.
 *
 * Invariant: a failing command prints its one error line and the shell goes on; a line typed as bytes
 * that are not UTF-8 (decoded with U+FFFD in their place) is refused, not run; the shell's store
 * handle (for completion) is read-only and closed on exit.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TopologyStore } from '../state/store.js';
import { utf8Problem } from '../utf8.js';
import { complete, storeNames, type NameSource } from './complete.js';

const HISTORY = join(homedir(), '.midonet_cli_history');
const HISTORY_SIZE = 1000;

/** Splits a line into words: spaces separate, single or double quotes group, backslash escapes. */
export function words(line: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else cur = (cur ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (ch === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[++i];
    } else if (ch === ' ' || ch === '\t') {
      if (cur !== null) out.push(cur);
      cur = null;
    } else cur = (cur ?? '') + ch;
  }
  if (cur !== null) out.push(cur);
  return out;
}

/**
 * Follows the bytes typed on the terminal, line by line: readline decodes them with each malformed
 * UTF-8 sequence replaced by U+FFFD, so for every line ended (CR, LF or CR LF) this keeps where its
 * bytes stopped being UTF-8, if they did, for the shell to refuse that line rather than run it.
 */
export class TypedLines {
  private pending: Buffer[] = [];
  private afterCr = false;
  /** Per line ended and not yet taken: where its bytes stopped being UTF-8, or undefined. */
  private readonly ended: Array<string | undefined> = [];

  write(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c !== 0x0d && c !== 0x0a) {
        this.afterCr = false;
        continue;
      }
      const crLf = c === 0x0a && this.afterCr && i === start;
      this.afterCr = c === 0x0d;
      this.pending.push(chunk.subarray(start, i));
      start = i + 1;
      if (crLf) {
        this.pending = [];
        continue;
      }
      this.ended.push(utf8Problem(Buffer.concat(this.pending)));
      this.pending = [];
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  /** Where the bytes of the next line readline gives stopped being UTF-8 (undefined: they did not). */
  take(): string | undefined {
    return this.ended.shift();
  }
}

export async function shell(): Promise<number> {
  const { main } = await import('./main.js');
  let store: TopologyStore | undefined;
  let names: NameSource = () => Promise.resolve([]);
  try {
    const { openSelected } = await import('./store-access.js');
    store = await openSelected({});
    names = storeNames(store);
  } catch {
    /* no completion of names without a readable store */
  }
  const history = existsSync(HISTORY)
    ? readFileSync(HISTORY, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse()
    : [];
  const typed = new TypedLines();
  const onBytes = (chunk: Buffer | string) => {
    if (typeof chunk !== 'string') typed.write(chunk);
  };
  process.stdin.on('data', onBytes);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'midonet> ',
    history,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: null, r: [string[], string]) => void) => {
      const ws = words(line);
      if (line.endsWith(' ') || line === '') ws.push('');
      complete(ws, names).then(
        (c) => cb(null, [c, ws.at(-1) ?? '']),
        () => cb(null, [[], line]),
      );
    },
  });
  process.stdout.write(
    'midonet-cli shell: KIND VERB ... as on the command line; Tab completes; exit or Ctrl-D leaves\n',
  );
  rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    const notUtf8 = typed.take();
    if (trimmed === 'exit' || trimmed === 'quit') break;
    // A line whose bytes were not UTF-8 and that holds U+FFFD: the name typed is not the one decoded.
    if (notUtf8 !== undefined && line.includes('\ufffd'))
      process.stderr.write(
        `midonet-cli: error: the line is not valid UTF-8 (${notUtf8}): names and other values are UTF-8 text\n`,
      );
    else if (trimmed !== '') {
      try {
        appendFileSync(HISTORY, `${trimmed}\n`, { mode: 0o600 });
      } catch {
        /* history is a convenience */
      }
      rl.pause();
      await main(words(trimmed));
      rl.resume();
    }
    rl.prompt();
  }
  rl.close();
  process.stdin.off('data', onBytes);
  await store?.close();
  return 0;
}
