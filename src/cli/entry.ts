/**
 * midonet-cli run the usual way: the compiled modules loaded one by one. bin/midonet-cli runs this
 * when the start-up snapshot (snapshot-entry.ts) cannot serve.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
