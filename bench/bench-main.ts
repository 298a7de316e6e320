/**
 * The one entry point of `npm run bench -- NAME [ARGS]` (scripts/bench.sh): runs bench/NAME as if it
 * were started directly (process.argv without NAME), and turns any failure into one line on stderr
 * (`bench NAME: error: ...`, exit 1), never a stack trace (MIDONET_DEBUG=1 adds it). A benchmark's own
 * `finally` blocks (lab teardown) run before the line is printed.
 */
const name = process.argv[2] ?? '';
process.argv.splice(2, 1);

function fail(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`bench ${name}: error: ${msg.replace(/\s*\n\s*/g, ' ').slice(0, 2000)}\n`);
  if (process.env.MIDONET_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(new Error('give a benchmark name, e.g. npm run bench -- cli'));
try {
  await import(`./${name}.js`);
} catch (e) {
  fail(e);
}
