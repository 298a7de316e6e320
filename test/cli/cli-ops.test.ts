/**
 * midonet-cli for operators: `--` sequences as one transaction (all or nothing, the failing command
 * named), --may-exist / --if-exists, --wait against agents' liveness records (none alive, caught up,
 * timed out), `show` as a tree, `router show` with the effective routing table, `chain show` with its
 * rules, `port list BRIDGE`, --columns / --format, and `watch` following the change feed. Runs the CLI
 * in-process against a real embedded store.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { watchChanges } from '../../src/cli/watch.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';

let dir: string;
let url: string;
let store: TopologyStore;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['--store', url, ...args],
    (s) => void out.push(s),
    (s) => void err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `midonet-cli ${args.join(' ')}: ${r.err}`);
  return r.out;
}

async function fails(args: string[], code: number, pattern: RegExp): Promise<string> {
  const r = await cli(...args);
  assert.equal(r.code, code, `midonet-cli ${args.join(' ')}: exit ${r.code}, ${r.err}`);
  assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
  assert.match(r.err, /^midonet-cli: error: /);
  assert.match(r.err, pattern);
  return r.err;
}

describe('midonet-cli for operators', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-ops-'));
    url = `sqlite:${join(dir, 'state.db')}`;
    store = await openStore(url);
    await ok('host', 'create', 'hv1', '--addresses', '198.51.100.1');
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a -- sequence as one transaction; later commands see what earlier ones made', async () => {
    const before = await store.position();
    const out = await ok(
      'bridge',
      'create',
      'a',
      '--',
      'port',
      'create',
      'p1',
      '--bridge',
      'a',
      '--',
      'port',
      'bind',
      'p1',
      '--host',
      'hv1',
      '--interface',
      'tap-p1',
      '--',
      'port',
      'list',
      'a',
      '--columns',
      'name,interfaceName',
    );
    const lines = out.split('\n');
    assert.match(lines[0]!, /^[0-9a-f-]{36}$/, 'bridge id');
    assert.match(lines[1]!, /^[0-9a-f-]{36}$/, 'port id');
    assert.match(lines[2]!, /^bound port 'p1' \(version 1\)$/, 'one transaction: the port is written once');
    assert.match(out, /p1\s+tap-p1/);
    const changes = await store.changesSince(before);
    assert.equal(new Set(changes.map((c) => c.tx)).size, 1, 'one transaction in the feed');
    assert.equal((await store.resolve('port', 'p1')).interfaceName, 'tap-p1');
    assert.equal((await store.resolve('bridge', 'a')).id, lines[0]);
  });

  it('rolls back every command of a sequence when one fails, and names it', async () => {
    const before = await store.position();
    await fails(
      [
        'bridge',
        'create',
        'b',
        '--',
        'port',
        'create',
        'p2',
        '--bridge',
        'b',
        '--',
        'port',
        'bind',
        'p2',
        '--host',
        'nohost',
        '--interface',
        'x',
      ],
      1,
      /^midonet-cli: error: command 3 of 3 \(port bind p2 --host nohost --interface x\); nothing was written: no host named or with id 'nohost'$/,
    );
    await fails(
      ['bridge', 'create', 'b', '--', 'port', 'create', 'p2', '--router', 'b'],
      1,
      /command 2 of 2 \(port create p2 --router b\); nothing was written: no router named or with id 'b'/,
    );
    await fails(
      ['bridge', 'create', 'b', '--', 'port', 'create', 'p1', '--bridge', 'b'],
      1,
      /command 2 of 2 .*; nothing was written: .*'p1' is already used/,
    );
    await fails(['bridge', 'create', 'b', '--', 'bridge', 'frob'], 2, /command 2 of 2 \(bridge frob\)/);
    await fails(
      ['bridge', 'create', 'b', '--', 'show'],
      2,
      /command 2 of the -- sequence \(show\): only topology commands/,
    );
    await fails(['bridge', 'create', 'b', '--'], 2, /command 2 of the -- sequence is empty/);
    assert.equal(await store.position(), before, 'nothing was written');
    assert.equal(
      (await store.list('bridge')).some((b) => b.name === 'b'),
      false,
    );
  });

  it('--may-exist and --if-exists make repeated scripts idempotent', async () => {
    const id = await ok('bridge', 'create', 'idem');
    assert.equal(await ok('bridge', 'create', 'idem', '--may-exist'), id, 'the existing id');
    await fails(['bridge', 'create', 'idem'], 1, /'idem' is already used/);
    await ok('port', 'create', 'ip1', '--bridge', 'idem');
    await ok('port', 'bind', 'ip1', '--host', 'hv1', '--interface', 'tap-i');
    assert.match(
      await ok('port', 'bind', 'ip1', '--host', 'hv1', '--interface', 'tap-i', '--may-exist'),
      /already bound/,
    );
    const pos = await store.position();
    assert.equal(await ok('port', 'unbind', 'nope', '--if-exists'), '');
    assert.equal(await ok('bridge', 'delete', 'nope', '--if-exists'), '');
    assert.equal(await store.position(), pos, 'no-ops write nothing');
    await fails(['bridge', 'delete', 'nope'], 1, /no bridge named or with id 'nope'/);
    await fails(
      ['route', 'create', '--router', 'x', '--dst', '0.0.0.0/0', '--may-exist'],
      2,
      /--may-exist: needs the name to look for \(--name NAME\); route create has none/,
    );
    await fails(['bridge', 'list', '--if-exists'], 2, /--if-exists: does not apply to 'bridge list'/);
  });

  it('--wait returns at once without live agents, when they applied the change, or names the host behind', async () => {
    let r = await cli('bridge', 'create', 'w1', '--wait');
    assert.equal(r.code, 0);
    assert.match(r.err, /--wait: no agent is alive: nothing to wait for; returned at once/);
    const hv = await store.resolve('host', 'hv1');
    // A live agent that is behind, then catches up while the CLI waits.
    await store.heartbeat(hv.id, 60000, { lastChangeApplied: 0, agentVersion: 'test' });
    const waiting = cli('bridge', 'create', 'w2', '--wait', '--wait-timeout', '20');
    const target = async () => {
      for (;;) {
        const p = await store.position();
        const w2 = (await store.list('bridge')).some((b) => b.name === 'w2');
        if (w2) return p;
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    await store.heartbeat(hv.id, 60000, { lastChangeApplied: await target(), agentVersion: 'test' });
    r = await waiting;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /--wait: 1 live agent\(s\) applied change \d+/);
    // Behind and staying behind: the wait ends at its timeout, naming the host; the write stands.
    r = await cli('bridge', 'create', 'w3', '--wait', '--wait-timeout', '0.3');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `--wait: 1 of 1 live agents had not applied position \\d+ after 300 ms \\(behind: ${hv.id} at \\d+\\); the change itself is committed`,
      ),
    );
    assert.ok((await store.list('bridge')).some((b) => b.name === 'w3'));
    await store.goodbye(hv.id);
    await fails(['bridge', 'list', '--wait-timeout', '3'], 2, /--wait-timeout: applies with --wait only/);
  });

  it('shows the topology as a tree, a router with its effective routes, a chain with its rules', async () => {
    await ok(
      'router',
      'create',
      'edge',
      '--',
      'port',
      'create',
      'edge-a',
      '--router',
      'edge',
      '--address',
      '192.0.2.1/24',
      '--',
      'port',
      'create',
      'a-up',
      '--bridge',
      'a',
      '--',
      'port',
      'link',
      'a-up',
      'edge-a',
      '--',
      'route',
      'create',
      '--router',
      'edge',
      '--dst',
      '0.0.0.0/0',
      '--next-hop-port',
      'edge-a',
      '--gateway',
      '192.0.2.254',
      '--',
      'chain',
      'create',
      'fw',
      '--',
      'rule',
      'add',
      'fw',
      '--action',
      'drop',
      '--proto',
      'tcp',
      '--dst-port',
      '22',
      '--',
      'rule',
      'add',
      'fw',
      '--action',
      'accept',
      '--',
      'bridge',
      'update',
      'a',
      '--inbound-chain',
      'fw',
    );
    const tree = await ok('show');
    assert.match(tree, /^router edge \([0-9a-f-]{36}\)$/m);
    assert.match(tree, /^ {4}port edge-a .*\n {8}address: 192\.0\.2\.1\/24 {2}mac: 02:/m);
    assert.match(tree, /^ {8}peer: a-up on bridge a$/m);
    assert.match(tree, /^bridge a \(.*\)\n {4}inbound chain: fw$/m);
    assert.match(tree, /^ {8}bound: host hv1 interface tap-p1$/m);
    assert.match(tree, /^chain fw \(.*\): 2 rules; on bridge a \(inbound\)$/m);
    assert.match(tree, /^host hv1 \(.*\): down/m);
    const router = await ok('router', 'show', 'edge');
    assert.match(router, /^Routes \(effective/m);
    assert.match(router, /^192\.0\.2\.1\/32\s+-\s+this router\s+edge-a\s+local/m);
    assert.match(router, /^192\.0\.2\.0\/24\s+-\s+on-link\s+edge-a\s+normal\s+0\s+connected/m);
    assert.match(
      router,
      /^0\.0\.0\.0\/0\s+-\s+192\.0\.2\.254\s+edge-a\s+normal\s+100\s+static\s+[0-9a-f-]{36}/m,
    );
    const chain = await ok('chain', 'show', 'fw');
    assert.match(chain, /^POSITION\s+ID\s+NAME\s+CONDITIONS\s+ACTION$/m);
    assert.match(chain, /^1\s+[0-9a-f-]{36}\s+-\s+ipProto=6 dstPort=22\s+drop$/m);
    assert.match(chain, /^2\s+[0-9a-f-]{36}\s+-\s+\(all\)\s+accept$/m);
  });

  it('filters port list by its positional bridge or router, and refuses a positional it cannot use', async () => {
    const onA = JSON.parse(await ok('port', 'list', 'a', '--json')) as Array<{ name: string }>;
    assert.deepEqual(onA.map((p) => p.name).sort(), ['a-up', 'p1']);
    const onEdge = JSON.parse(await ok('port', 'list', 'edge', '--json')) as Array<{ name: string }>;
    assert.deepEqual(
      onEdge.map((p) => p.name),
      ['edge-a'],
    );
    await fails(['port', 'list', 'nowhere'], 2, /no bridge or router named or with id 'nowhere'/);
    await fails(['bridge', 'list', 'x'], 2, /bridge list: takes no positional argument \(got 'x'\)/);
    await fails(['port', 'list', 'a', '--bridge', 'a'], 2, /give the bridge or router once/);
  });

  it('prints the columns and format asked for, and refuses an unknown column with the list', async () => {
    assert.equal(
      await ok('bridge', 'list', '--columns', 'name', '--format', 'csv'),
      'name\na\nidem\nw1\nw2\nw3',
    );
    const rows = JSON.parse(await ok('port', 'list', 'a', '--columns', 'name,device', '--json')) as object[];
    assert.deepEqual(rows, [
      { name: 'a-up', deviceId: (await store.resolve('bridge', 'a')).id },
      { name: 'p1', deviceId: (await store.resolve('bridge', 'a')).id },
    ]);
    const table = await ok('port', 'list', 'a', '--columns', 'name,deviceId,hostId');
    assert.match(table, /^NAME\s+DEVICE\s+HOST$/m);
    assert.match(table, /^p1\s+a\s+hv1$/m);
    assert.match(
      await ok('bridge', 'show', 'a', '--format', 'csv', '--columns', 'name,inboundChainId'),
      /^name,inboundChainId\na,fw$/,
    );
    await fails(
      ['bridge', 'list', '--columns', 'name,colour'],
      2,
      /--columns: 'colour' is not a column of bridge; columns: id, name, version, adminStateUp/,
    );
    await fails(
      ['bridge', 'list', '--format', 'xml'],
      2,
      /--format: 'xml' is not valid; allowed: table, json, csv/,
    );
  });

  it('watch prints each change as it commits', async () => {
    const lines: string[] = [];
    const done = watchChanges(store, {
      json: false,
      print: (l) => void lines.push(l),
      count: 2,
      kind: 'bridge',
    });
    await new Promise((r) => setTimeout(r, 50));
    await ok('port', 'create', 'ignored', '--bridge', 'a');
    await ok('bridge', 'create', 'seen1', '--', 'bridge', 'create', 'seen2');
    assert.equal(await done, 2);
    assert.match(lines[0]!, /^\d+ create bridge 'seen1' \([0-9a-f-]{36}\) version 1$/);
    assert.match(lines[1]!, /^\d+ create bridge 'seen2' /);
    const json = await ok('watch', '--from', '0', '--count', '1', '--json');
    assert.equal((JSON.parse(json) as { seq: number }).seq, 1);
    await fails(['watch', '--kind', 'gizmo'], 2, /--kind: 'gizmo' is not a kind/);
  });
});
