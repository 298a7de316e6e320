/**
 * midonet-cli's command line as the bytes it was given. Node hands a program its arguments as strings,
 * each malformed UTF-8 sequence silently replaced by U+FFFD, so `bridge create $'\xff'` would create a
 * bridge named U+FFFD. The bytes are still in /proc/self/cmdline (process-bytes.ts); the entry points
 * pass those of the CLI's arguments to `main`, which refuses an argument that is not UTF-8 before it
 * parses anything.
 *
 * Invariant: an argument is refused only when its own bytes are not UTF-8; when the bytes cannot be
 * read or do not line up with the arguments (another OS, a process that rewrote its title) nothing is
 * refused here, and the arguments are taken as Node decoded them.
 */
import { utf8Problem } from '../utf8.js';
import { CliError } from './option-parse.js';

/** How an argument is named in a refusal: the option it is the value of, else its position. */
function argumentName(argv: readonly string[], i: number): string {
  const a = argv[i]!;
  const eq = a.indexOf('=');
  if (/^--[A-Za-z][A-Za-z0-9-]*=/.test(a)) return `the value of ${a.slice(0, eq)} (argument ${i + 1})`;
  const prev = argv[i - 1];
  if (prev !== undefined && /^--?[A-Za-z][A-Za-z0-9-]*$/.test(prev))
    return `the value of ${prev} (argument ${i + 1})`;
  return `argument ${i + 1}`;
}

/**
 * Throws a usage error naming the first argument whose bytes are not UTF-8. `bytes` are the arguments'
 * bytes in order (argvBytes); when they do not line up with `argv`, nothing is checked.
 */
export function checkArgvBytes(argv: readonly string[], bytes: readonly Uint8Array[]): void {
  // Bytes that do not decode to the arguments Node gave belong to some other argument list.
  if (
    bytes.length !== argv.length ||
    bytes.some((b, i) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') !== argv[i])
  )
    return;
  for (let i = 0; i < argv.length; i++) {
    const problem = utf8Problem(bytes[i]!);
    if (problem !== undefined)
      throw new CliError(
        `${argumentName(argv, i)} is not valid UTF-8 (${problem}): names and other values are UTF-8 text`,
      );
  }
}
