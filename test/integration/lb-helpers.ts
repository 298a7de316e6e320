/**
 * What the load balancer lab tests (lb.test.ts over IPv4, lb6.test.ts over IPv6) share: HTTP requests
 * from a namespace through src/lab/http-probe.ts, each on a new connection, and busybox httpd in member
 * VMs answering their name, and a member taken out by its health checks and back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec.js';
import type { LabState } from '../../src/lab/lab.js';
import { until } from '../until.js';
import { vm } from './lab-helpers.js';

const HTTP_PROBE = fileURLToPath(new URL('../../src/lab/http-probe.js', import.meta.url));

export interface Answers {
  answers: Record<string, number>;
  failed: number;
  log: Array<{ t: number; body: string | null }>;
}

/** Which requests failed, when (ms from the first), for an assertion's message. */
export function failures(r: Answers): string {
  const at = r.log.flatMap((l, i) => (l.body === null ? [`#${i} at ${l.t} ms`] : []));
  return `${r.failed} failed (${at.join(', ')}); answers ${JSON.stringify(r.answers)}`;
}

/** `count` GETs of `url` from `netns`, each on a new connection (http-probe's JSON answer). */
export async function httpGet(
  netns: string,
  url: string,
  count: number,
  extra: string[] = [],
): Promise<Answers> {
  const out = await run(
    process.execPath,
    [HTTP_PROBE, 'get', '--url', url, '--count', String(count), '--timeout-ms', '5000', ...extra],
    { netns, timeoutMs: 120000 },
  );
  return JSON.parse(out) as Answers;
}

/** Member VMs' busybox httpd on :8080 (both families), answering their name. */
export class MemberServers {
  private readonly servers = new Map<string, ChildProcess>();

  constructor(
    private readonly lab: () => LabState,
    private readonly dir: string,
  ) {}

  /** Starts `name`'s httpd; resolves once `readyNetns` gets its name from `readyUrl`. */
  async start(name: string, readyNetns: string, readyUrl: string): Promise<void> {
    const dir = join(this.dir, `www-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), `${name}\n`);
    const v = vm(this.lab(), name);
    const child = spawn('ip', ['netns', 'exec', v.netns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], {
      stdio: 'ignore',
    });
    this.servers.set(name, child);
    await until(async () => (await httpGet(readyNetns, readyUrl, 1)).answers[name] === 1, {
      what: `busybox httpd answering in ${name}`,
    });
  }

  async stop(name: string): Promise<void> {
    const child = this.servers.get(name)!;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill();
    await gone;
    this.servers.delete(name);
  }

  killAll(): void {
    for (const s of this.servers.values()) s.kill('SIGKILL');
  }
}

/** What `memberOutAndBack` needs of a test: its client, its member servers and the pool's statuses. */
export interface OutAndBack {
  /** The client namespace and the VIP's URL. */
  readonly netns: string;
  readonly url: string;
  readonly member: string;
  /** The monitor's interval x retries, in ms. */
  readonly detectMs: number;
  stop(member: string): Promise<void>;
  start(member: string): Promise<void>;
  status(member: string): Promise<string | undefined>;
  /** Waits until the agents applied what the store holds. */
  settled(): Promise<void>;
}

/**
 * Stops a member's server under a stream of requests: after interval x retries + 2 s none fails and
 * none goes to it, and it is marked down; started again, it is marked up and gets traffic. Returns the
 * requests made after it came back, for the test's own checks.
 */
export async function memberOutAndBack(t: OutAndBack): Promise<Answers> {
  const stoppedAt = Date.now();
  await t.stop(t.member);
  const limitMs = t.detectMs + 2000;
  const probeStart = Date.now();
  const r = await httpGet(t.netns, t.url, 80, ['--interval-ms', '100']);
  const late = r.log.filter((l) => probeStart - stoppedAt + l.t > limitMs);
  assert.ok(late.length > 20, `requests after the limit: ${late.length}`);
  assert.equal(
    late.filter((l) => l.body === null).length,
    0,
    `none fails after ${limitMs} ms: ${failures(r)}`,
  );
  assert.equal(late.filter((l) => l.body === t.member).length, 0, 'none goes to the stopped member');
  assert.equal(await t.status(t.member), 'down');
  await t.start(t.member);
  await until(async () => (await t.status(t.member)) === 'up', {
    what: `${t.member} marked up again`,
    timeoutMs: 15000,
  });
  await t.settled();
  const back = await httpGet(t.netns, t.url, 30);
  assert.ok(
    (back.answers[t.member] ?? 0) > 0,
    `${t.member} gets traffic again: ${JSON.stringify(back.answers)}`,
  );
  return back;
}
