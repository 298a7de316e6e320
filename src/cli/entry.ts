/**
 * midonet-cli run the usual way: the compiled modules loaded one by one. bin/midonet-cli runs this
 * when the start-up snapshot (snapshot-entry.ts) cannot serve.
 */
import { argvBytes } from '../process-bytes.js';
import { main } from './main.js';

const argv = process.argv.slice(2);
process.exitCode = await main(argv, undefined, undefined, argvBytes(argv.length));
