/**
 * One BGP speaker of midonet-router: a network namespace (PREFIX + tunnel key) with a veth whose inner
 * end carries the router port's address and MAC and whose outer end (`speakerInterface(port)`) is a
 * port of br-int, where the agent's steering flows connect it to the uplink; inside it, an FRR instance
 * configured through vtysh from the speaker's BgpSpeakerConfig.
 *
 * Invariants: `create` first removes whatever an earlier speaker of the same port left (a crashed
 * process, a deposed leader), so a new leader always starts from a known FRR; `update` applies only the
 * difference to the configuration FRR is known to run (a rejected block is left out of it and
 * reported, the others apply); `destroy` stops FRR and removes the namespace and the br-int port.
 */
import { run, tryRun } from '../exec.js';
import { killNamespace } from '../netns-remove.js';
import type { Logger } from '../log.js';
import type { Ovs } from '../ovs/ovs.js';
import { speakerInterface } from '../agent/bgp-steering.js';
import { FrrInstance, VtyError } from './frr.js';
import { renderDiff, renderRemove, type BgpSpeakerConfig } from './frr-config.js';
import type { Problem, SpeakerSpec } from './desired.js';
import { learnedFromJson } from './routes.js';

export interface SpeakerEnv {
  readonly namespacePrefix: string;
  readonly hostNetns: string | null;
  readonly ovs: Ovs;
  readonly bridge: string;
  readonly log: Logger;
}

/** Live state of one peer, as FRR reports it. */
export interface PeerState {
  readonly peerAddress: string;
  readonly state: string;
  readonly established: boolean;
  readonly uptimeMs: number;
  readonly prefixesReceived: number;
  readonly prefixesAdvertised: number;
}

/** The inner interface's name inside the speaker namespace. */
export const SPEAKER_IFACE = 'uplink0';

export function speakerNamespace(prefix: string, tunnelKey: number): string {
  return `${prefix}${tunnelKey.toString(16)}`;
}

export class Speaker {
  readonly netns: string;
  readonly frr: FrrInstance;
  readonly hostIface: string;
  /** The configuration FRR runs (what the next diff starts from); undefined before create. */
  private running: BgpSpeakerConfig | undefined;
  /** Problems of the last apply (blocks vtysh rejected). */
  problems: Problem[] = [];

  constructor(
    public spec: SpeakerSpec,
    private readonly env: SpeakerEnv,
  ) {
    this.netns = speakerNamespace(env.namespacePrefix, spec.tunnelKey);
    this.frr = new FrrInstance(this.netns);
    this.hostIface = speakerInterface(spec);
  }

  private hostRun(args: string[]): Promise<string> {
    return run('ip', args, this.env.hostNetns ? { netns: this.env.hostNetns } : {});
  }

  /** Removes what a speaker of this port left behind (FRR, namespace, br-int port). */
  async cleanLeftovers(): Promise<void> {
    await this.frr.stop();
    await killNamespace(this.netns);
    await tryRun(
      'ip',
      ['link', 'delete', this.hostIface],
      this.env.hostNetns ? { netns: this.env.hostNetns } : {},
    );
    await this.env.ovs
      .vsctl(['--if-exists', 'del-port', this.env.bridge, this.hostIface])
      .catch(() => undefined);
  }

  /** Builds namespace, veth, FRR and the full configuration. */
  async create(): Promise<void> {
    await this.cleanLeftovers();
    const ns = this.netns;
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'set', 'lo', 'up'], { netns: ns });
    await run(
      'sysctl',
      ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
      {
        netns: ns,
      },
    );
    const tmp = `${this.hostIface.slice(0, 13)}-s`;
    await run('ip', ['link', 'add', this.hostIface, 'type', 'veth', 'peer', 'name', tmp]);
    await run('ip', ['link', 'set', tmp, 'netns', ns]);
    await run('ip', ['link', 'set', tmp, 'name', SPEAKER_IFACE], { netns: ns });
    if (this.env.hostNetns) await run('ip', ['link', 'set', this.hostIface, 'netns', this.env.hostNetns]);
    if (this.spec.mac)
      await run('ip', ['link', 'set', SPEAKER_IFACE, 'address', this.spec.mac], { netns: ns });
    await run('ip', ['addr', 'add', this.spec.address, 'dev', SPEAKER_IFACE], { netns: ns });
    await run('ip', ['link', 'set', SPEAKER_IFACE, 'up'], { netns: ns });
    // veth checksum offload leaves partial checksums that the userspace datapath passes on as they are.
    await tryRun('ethtool', ['-K', SPEAKER_IFACE, 'tx', 'off'], { netns: ns });
    await this.hostRun(['link', 'set', this.hostIface, 'up']);
    await this.env.ovs.vsctl([
      '--may-exist',
      'add-port',
      this.env.bridge,
      this.hostIface,
      '--',
      'set',
      'interface',
      this.hostIface,
      `external_ids:midonet-bgp-speaker=${this.spec.portId}`,
    ]);
    await this.frr.start();
    this.running = undefined;
    await this.update(this.spec);
  }

  /** Applies the difference between what FRR runs and `spec`'s configuration. */
  async update(spec: SpeakerSpec): Promise<void> {
    this.spec = spec;
    const to = spec.config;
    const blocks = renderDiff(this.running, to, `port '${spec.portName}'`);
    if (blocks.length === 0) return;
    const failed = new Map<string, string>();
    for (const b of blocks) {
      try {
        await this.frr.apply([b]);
      } catch (e) {
        if (!(e instanceof VtyError)) throw e;
        failed.set(b.object, e.message);
        this.env.log.error(
          { port: spec.portName, object: b.object, err: e.message },
          'vtysh rejected a command',
        );
      }
    }
    this.problems = [...failed].map(([object, message]) => ({ object, objectId: '', message }));
    if (failed.has(`port '${spec.portName}'`)) {
      this.running = undefined; // the global block failed: rebuild from scratch next time
      await this.frr.apply([renderRemove(to.localAs)]).catch(() => undefined);
      return;
    }
    const prev = this.running;
    this.running = {
      ...to,
      neighbors: to.neighbors.filter(
        (n) => !failed.has(n.object) || prev?.neighbors.some((o) => o.address === n.address) === true,
      ),
      networks: to.networks.filter((n) => !failed.has(n.object)),
    };
    this.env.log.info(
      { port: spec.portName, blocks: blocks.length, failed: failed.size },
      'FRR configuration applied',
    );
  }

  async destroy(): Promise<void> {
    await this.cleanLeftovers();
    this.running = undefined;
  }

  /** Per-peer state from `show bgp ipv4 unicast summary json`. */
  async peerStates(): Promise<Map<string, PeerState>> {
    const j = (await this.frr.showJson('show bgp ipv4 unicast summary json')) as {
      peers?: Record<string, Record<string, unknown>>;
      ipv4Unicast?: { peers?: Record<string, Record<string, unknown>> };
    };
    const peers = j.peers ?? j.ipv4Unicast?.peers ?? {};
    const out = new Map<string, PeerState>();
    for (const [addr, p] of Object.entries(peers)) {
      const state = typeof p.state === 'string' ? p.state : 'unknown';
      out.set(addr, {
        peerAddress: addr,
        state,
        established: state === 'Established',
        uptimeMs: typeof p.peerUptimeMsec === 'number' ? p.peerUptimeMsec : 0,
        prefixesReceived: typeof p.pfxRcd === 'number' ? p.pfxRcd : 0,
        prefixesAdvertised: typeof p.pfxSnt === 'number' ? p.pfxSnt : 0,
      });
    }
    return out;
  }

  /** Prefixes each (established) peer gave us. */
  async learned(peers: readonly string[]): Promise<Map<string, Set<string>>> {
    if (peers.length === 0) return new Map();
    const j = await this.frr.showJson('show bgp ipv4 unicast json', 60000);
    return learnedFromJson(j, peers);
  }
}
