/**
 * How a value someone gave is shown in a message (an error, a refusal, a log line meant for people):
 * `quote` puts it in single quotes with every control or invisible formatting character escaped and
 * cuts it to a bounded length; `escapeControls` escapes a whole line the same way without quoting or
 * cutting it (nor its backslashes); `messageLine` makes a whole message one escaped, bounded line (what
 * every front end prints as its error). Every error path that echoes a value uses these, so no value can end a line early, move
 * the terminal's cursor, recolour it or reorder text (terminal escape sequences, newlines, bidi
 * overrides), and no value can flood a message.
 *
 * Invariant: the result of either function contains no character of `UNSAFE_TEXT` (no C0/C1 control,
 * DEL, line or paragraph separator, invisible format character or lone surrogate); `quote`'s result
 * is at most QUOTE_MAX_CHARS characters of the value plus the quotes, the escapes and a short note of
 * how long the value was.
 */

/** Characters that must not reach a terminal or a log line raw, and that names may not contain. */
export const UNSAFE_TEXT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const UNSAFE_OR_BACKSLASH = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\]/gu;

/** Characters of a value shown before it is cut. */
export const QUOTE_MAX_CHARS = 64;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * The line with every unsafe character written as an escape sequence (backslashes are left alone, so
 * a line that holds quoted values is not escaped twice).
 */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE_ALL, escapeOne);
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  try {
    const json = JSON.stringify(v);
    if (json !== undefined) return json;
  } catch {
    // cyclic
  }
  return typeof v === 'function' ? '(function)' : '(unprintable)';
}

/**
 * A value for a message: strings in single quotes, other values as JSON, escaped as by
 * `escapeControls` and with backslashes and quotes escaped too, cut after QUOTE_MAX_CHARS characters (then "...", and the full length); undefined
 * is "(missing)".
 */
export function quote(v: unknown): string {
  if (v === undefined) return '(missing)';
  const chars = [...textOf(v)];
  const cut = chars.length > QUOTE_MAX_CHARS;
  const shown = (cut ? chars.slice(0, QUOTE_MAX_CHARS) : chars)
    .join('')
    .replace(UNSAFE_OR_BACKSLASH, escapeOne)
    .replace(/'/g, "\\'");
  const body = typeof v === 'string' ? `'${shown}${cut ? '...' : ''}'` : `${shown}${cut ? '...' : ''}`;
  return cut ? `${body} (${chars.length} characters)` : body;
}

/** Characters of a one-line message kept before it is cut. */
export const MESSAGE_MAX_CHARS = 2000;

/**
 * A message as one line for a terminal or a log: line breaks (with the spaces around them) become one
 * space, every other unsafe character is escaped as by `escapeControls`, and a line longer than
 * MESSAGE_MAX_CHARS is cut (then "..."). Every front end prints its one error line through this, so a
 * value that reached a message without `quote` (a library's own words) still cannot move the cursor.
 */
export function messageLine(s: string): string {
  const line = escapeControls(s.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').trim());
  const chars = [...line];
  return chars.length > MESSAGE_MAX_CHARS ? `${chars.slice(0, MESSAGE_MAX_CHARS).join('')}...` : line;
}
