/**
 * `midonet-cli token create NAME --role admin|reader | list | delete NAME`: bearer tokens of
 * midonet-api. On the store directly (how the first admin token is made, on the API's machine) or
 * through the API with an admin token (--api).
 *
 * Invariant: a token's secret is printed once, by the `create` that made it (alone on stdout, so a
 * script can capture it); `list` never prints a secret or its digest.
 */
import { quote } from '../quote.js';
import type { Argv, CommandModule } from 'yargs';
import { HttpStore } from '../api/http-store.js';
import { createToken, publicToken } from '../api/tokens.js';
import { TOKEN_ROLES, type TokenRole } from '../state/model.js';
import { CliError } from './options.js';
import { withStore, type GlobalArgs } from './store-access.js';
import { table } from './output.js';

function one(args: Record<string, unknown>, flag: string): string | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new CliError(`--${flag}: given more than once`);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function tokenCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'token <verb> [name]',
    describe: 'bearer tokens of midonet-api: create (prints the token once), list, delete',
    builder: (y: Argv) =>
      y
        .positional('verb', { choices: ['create', 'list', 'delete'], type: 'string' })
        .positional('name', { type: 'string', describe: 'token name (create, delete)' })
        .option('role', { type: 'string', describe: `create: ${TOKEN_ROLES.join(' or ')}` }),
    handler: async (a) => {
      const g = a as GlobalArgs & Record<string, unknown>;
      const verb = g.verb as string;
      const name = one(g, 'name');
      const role = one(g, 'role');
      if (verb !== 'create' && role !== undefined)
        throw new CliError(`--role: does not apply to 'token ${verb}'`);
      if (verb !== 'list' && !name) throw new CliError(`token ${verb}: give the token's name`);
      if (verb === 'create' && !TOKEN_ROLES.includes(role as TokenRole))
        throw new CliError(
          `token create: --role ${role === undefined ? 'is required' : `${quote(role)} is not allowed`}; allowed: ${TOKEN_ROLES.join(', ')}`,
        );
      await withStore(g, async (store) => {
        const remote = store instanceof HttpStore ? store : undefined;
        if (verb === 'create') {
          const made = remote
            ? await remote.tokens.create(name!, role as TokenRole)
            : await (async () => {
                const r = await createToken(store, name!, role as TokenRole, Date.now());
                return { ...publicToken(r.object), token: r.token };
              })();
          print(g.json ? JSON.stringify(made, null, 2) : made.token);
          return;
        }
        if (verb === 'list') {
          const all = remote ? await remote.tokens.list() : (await store.list('api-token')).map(publicToken);
          const rows = all.map((t) => ({ ...t, created: new Date(t.createdAt).toISOString() }));
          if (g.json) return print(JSON.stringify(rows, null, 2));
          return print(
            rows.length === 0 ? 'no tokens' : table(rows, ['id', 'name', 'role', 'created'], new Map()),
          );
        }
        const deleted = remote
          ? (await remote.tokens.delete(name!)).deleted
          : await store.delete('api-token', (await store.resolve('api-token', name!)).id);
        print(
          g.json
            ? JSON.stringify({ deleted }, null, 2)
            : deleted.map((d) => `deleted api-token ${quote(d.name)}`).join('\n'),
        );
      });
    },
  };
}
