/**
 * The entry of midonet-cli's V8 start-up snapshot (snapshot-build.ts makes it). Building the snapshot
 * runs this module: every module imported here is loaded and initialised then, and the heap is saved;
 * a CLI started from the snapshot (bin/midonet-cli) skips Node's module loading and their
 * initialisation (the model's zod schemas, yargs-parser) and runs `main` at once.
 *
 * Invariant: nothing initialised at build time depends on the environment, the time or the terminal
 * of a later run (the modules read those inside `main`); modules with native code or a lazy role
 * (better-sqlite3, the distributed store's drivers, zeromq, the full yargs CLI) are loaded at run time.
 */
import { startupSnapshot } from 'node:v8';
import { argvBytes } from '../process-bytes.js';
import { main } from './main.js';
// The short road's second half (main loads it after parsing), initialised into the snapshot too.
import './executor.js';

startupSnapshot.setDeserializeMainFunction(() => {
  // Started from a snapshot, process.argv is [node, ...the arguments after `--`].
  const argv = process.argv.slice(1);
  main(argv, undefined, undefined, argvBytes(argv.length)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`midonet-cli: error: ${String((e as Error).message ?? e)}\n`);
      process.exitCode = 2;
    },
  );
});
