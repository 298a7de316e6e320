/**
 * Builds midonet-cli's start-up snapshot (`npm run build` runs it after the compiler):
 *
 *   1. bundle: esbuild puts dist/src/cli/snapshot-entry.js and everything it can reach into one
 *      CommonJS file, dist/cli/midonet-cli.cjs (Node 20 builds a snapshot from one script only).
 *      Packages with native code or a large lazy part (cassandra-driver, node-zookeeper-client,
 *      zeromq) stay out of it: the bundle requires them at run time from the project's node_modules,
 *      found from the snapshot's own path; better-sqlite3's JavaScript is in it and only its native
 *      addon is loaded at run time. A hand-written bundler would be
 *      plumbing; esbuild is the maintained one (a build-time dependency only).
 *   2. snapshot: `node --snapshot-blob dist/cli/midonet-cli.blob --build-snapshot dist/cli/midonet-cli.cjs`.
 *   3. stamp: dist/cli/midonet-cli.blob.node names the node binary that built the blob (size, mtime,
 *      path): a blob works with that binary only, and bin/midonet-cli checks the stamp before using it.
 *
 *   node dist/src/cli/snapshot-build.js [--snapshot-only]   (--snapshot-only: steps 2 and 3 from the
 *                                                            bundle already there, as the Debian
 *                                                            package's postinst does with its node)
 *
 * Invariant: the stamp is removed first and written last, so a failed or partial build leaves no
 * stamp and the launcher runs the compiled CLI the usual way, never a stale or broken snapshot.
 * Failure is a one-line message and exit status 1 (the CLI itself still works, without the snapshot).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Where the bundle, the blob and its stamp live (dist/cli). */
export const SNAPSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli');
export const BUNDLE = join(SNAPSHOT_DIR, 'midonet-cli.cjs');
export const BLOB = join(SNAPSHOT_DIR, 'midonet-cli.blob');
export const STAMP = `${BLOB}.node`;

/** Packages the bundle requires at run time instead of carrying them. */
const RUNTIME_PACKAGES = ['better-sqlite3', 'cassandra-driver', 'node-zookeeper-client', 'zeromq'];

/**
 * The module that stands for a run-time package in the bundle. It resolves the package from the
 * snapshot's path (`--snapshot-blob` in process.execArgv), because the builder's own require only
 * loads Node's built-in modules. better-sqlite3's JavaScript is in the bundle (initialised into the
 * snapshot); only its native addon is loaded at run time, on first use, and handed to it
 * (`nativeBinding`).
 */
function standIn(pkg: string): string {
  const load = `
const { createRequire } = require('node:module');
const { dirname, resolve } = require('node:path');
function runtimeRequire() {
  const argv = process.execArgv;
  let blob = __filename;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--snapshot-blob') blob = argv[i + 1];
    else if (argv[i].startsWith('--snapshot-blob=')) blob = argv[i].slice(16);
  }
  return createRequire(resolve(blob));
}`;
  if (pkg !== 'better-sqlite3')
    return `${load}\nmodule.exports = runtimeRequire()(${JSON.stringify(pkg)});\n`;
  return `${load}
const Real = require('better-sqlite3/lib/index.js');
let addon;
function nativeAddon() {
  const req = runtimeRequire();
  try {
    return req('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    const root = dirname(req.resolve('better-sqlite3/package.json'));
    return req('bindings')({ bindings: 'better_sqlite3.node', module_root: root });
  }
}
function Database(filename, options) {
  addon ??= nativeAddon();
  return new Real(filename, { ...options, nativeBinding: addon });
}
Database.SqliteError = Real.SqliteError;
module.exports = Database;
`;
}

async function bundle(): Promise<void> {
  const { build } = await import('esbuild');
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'snapshot-entry.js');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: `${BUNDLE}.tmp`,
    logLevel: 'error',
    plugins: [
      {
        name: 'runtime-packages',
        setup(b) {
          const filter = new RegExp(`^(${RUNTIME_PACKAGES.join('|')})$`);
          b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'runtime-package' }));
          b.onLoad({ filter: /.*/, namespace: 'runtime-package' }, (args) => ({
            contents: standIn(args.path),
            loader: 'js',
            // Where the stand-in's own imports (better-sqlite3's JavaScript) are resolved from.
            resolveDir: dirname(entry),
          }));
        },
      },
    ],
  });
  renameSync(`${BUNDLE}.tmp`, BUNDLE);
}

async function snapshot(): Promise<void> {
  await execFileP(process.execPath, ['--snapshot-blob', `${BLOB}.tmp`, '--build-snapshot', BUNDLE], {
    cwd: SNAPSHOT_DIR,
    maxBuffer: 1 << 20,
  });
  renameSync(`${BLOB}.tmp`, BLOB);
  const node = statSync(process.execPath);
  writeFileSync(`${STAMP}.tmp`, `${node.size} ${Math.floor(node.mtimeMs / 1000)} ${process.execPath}\n`);
  renameSync(`${STAMP}.tmp`, STAMP);
}

export async function buildSnapshot(snapshotOnly: boolean): Promise<void> {
  rmSync(STAMP, { force: true });
  mkdirSync(SNAPSHOT_DIR, { recursive: true });
  if (!snapshotOnly) await bundle();
  await snapshot();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildSnapshot(process.argv.includes('--snapshot-only'));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const detail =
      (err.stderr ?? '')
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? err.message;
    process.stderr.write(`midonet-cli snapshot: not built: ${detail.slice(0, 300)}\n`);
    process.exitCode = 1;
  }
}
