// midonet-router, pure parts: FRR configuration rendered to vtysh text (golden), configuration diffs,
// speakers computed from the topology (bad peers and unreachable networks reported, others served),
// learned routes from FRR's JSON and the store operations that import them, and the agent's steering flows.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { renderDiff, renderFull, scriptText, type BgpSpeakerConfig } from '../../src/router/frr-config.js';
import { desiredSpeakers, type TopologyView } from '../../src/router/desired.js';
import { learnedFromJson, routeOps } from '../../src/router/routes.js';
import { bgpSteeringFlows, speakerInterface } from '../../src/agent/bgp-steering.js';
import type { Kind, Obj } from '../../src/state/model.js';

const base: BgpSpeakerConfig = {
  localAs: 64510,
  routerId: '203.0.113.1',
  neighbors: [
    { address: '203.0.113.2', remoteAs: 64500, keepalive: 1, holdTime: 3, object: "bgp-peer 'isp1'" },
  ],
  networks: [{ prefix: '192.0.2.0/25', object: 'bgp-network n1 (192.0.2.0/25)' }],
};

describe('FRR configuration rendering', () => {
  it('renders a full configuration (golden)', () => {
    assert.equal(
      scriptText(renderFull(base, "port 'edge-up'")),
      `! port 'edge-up'
configure terminal
router bgp 64510
bgp router-id 203.0.113.1
no bgp ebgp-requires-policy
no bgp network import-check
end
! bgp-peer 'isp1'
configure terminal
router bgp 64510
neighbor 203.0.113.2 remote-as 64500
neighbor 203.0.113.2 timers connect 2
neighbor 203.0.113.2 advertisement-interval 0
neighbor 203.0.113.2 timers 1 3
end
! bgp-network n1 (192.0.2.0/25)
configure terminal
router bgp 64510
address-family ipv4 unicast
network 192.0.2.0/25
exit-address-family
end
`,
    );
  });

  it('renders only the difference: a new network, a changed timer, a removed and an added peer (golden)', () => {
    const to: BgpSpeakerConfig = {
      ...base,
      neighbors: [
        { address: '203.0.113.2', remoteAs: 64500, keepalive: 10, holdTime: null, object: "bgp-peer 'isp1'" },
        {
          address: '203.0.113.6',
          remoteAs: 64501,
          keepalive: null,
          holdTime: null,
          object: "bgp-peer 'isp2'",
        },
      ],
      networks: [{ prefix: '192.0.2.128/25', object: 'bgp-network n2 (192.0.2.128/25)' }],
    };
    assert.equal(
      scriptText(renderDiff(base, to, "port 'edge-up'")),
      `! bgp-peer 'isp1'
configure terminal
router bgp 64510
neighbor 203.0.113.2 timers 10 30
end
! bgp-peer 'isp2'
configure terminal
router bgp 64510
neighbor 203.0.113.6 remote-as 64501
neighbor 203.0.113.6 timers connect 2
neighbor 203.0.113.6 advertisement-interval 0
end
! bgp-network n1 (192.0.2.0/25)
configure terminal
router bgp 64510
address-family ipv4 unicast
no network 192.0.2.0/25
exit-address-family
end
! bgp-network n2 (192.0.2.128/25)
configure terminal
router bgp 64510
address-family ipv4 unicast
network 192.0.2.128/25
exit-address-family
end
`,
    );
    assert.deepEqual(renderDiff(base, base), [], 'no change, no command');
    const moved = renderDiff(base, { ...base, localAs: 64511 });
    assert.deepEqual(moved[0]!.commands, ['configure terminal', 'no router bgp 64510', 'end']);
    assert.equal(moved[1]!.commands[1], 'router bgp 64511');
  });
});

/** A small topology: router R with ports up (203.0.113.1/30, bound to host H) and a (192.0.2.1/25). */
function topo(extra: Array<[Kind, Record<string, unknown>]>): TopologyView {
  const objs: Array<[Kind, Record<string, unknown>]> = [
    ['router', { id: 'R', name: 'edge' }],
    [
      'port',
      {
        id: 'up',
        name: 'edge-up',
        deviceId: 'R',
        deviceKind: 'router',
        address: '203.0.113.1/30',
        mac: '02:00:00:00:aa:01',
        hostId: 'H',
        interfaceName: 'mnl-up1',
        tunnelKey: 26,
      },
    ],
    [
      'port',
      {
        id: 'a',
        name: 'edge-a',
        deviceId: 'R',
        deviceKind: 'router',
        address: '192.0.2.1/25',
        mac: null,
        hostId: null,
        interfaceName: null,
        tunnelKey: 27,
      },
    ],
    ...extra,
  ];
  return {
    all: <K extends Kind>(k: K) => objs.filter(([kk]) => kk === k).map(([, o]) => o) as unknown as Obj<K>[],
    get: <K extends Kind>(k: K, id: string) =>
      objs.find(([kk, o]) => kk === k && o.id === id)?.[1] as unknown as Obj<K> | undefined,
  };
}
const peer = (id: string, over: Record<string, unknown> = {}): [Kind, Record<string, unknown>] => [
  'bgp-peer',
  {
    id,
    name: id,
    portId: 'up',
    peerAddress: '203.0.113.2',
    peerAs: 64500,
    localAs: 64510,
    keepalive: null,
    holdTime: null,
    ...over,
  },
];

describe('speakers from the topology', () => {
  it('serves good peers and names bad ones and unreachable networks', () => {
    const t = topo([
      peer('isp1'),
      peer('bad-as', { peerAs: 23456, peerAddress: '203.0.113.2' }),
      peer('off-subnet', { peerAddress: '198.51.100.7' }),
      ['bgp-network', { id: 'n1', name: null, routerId: 'R', prefix: '192.0.2.0/25' }],
      ['bgp-network', { id: 'n2', name: 'elsewhere', routerId: 'R', prefix: '198.51.100.0/24' }],
    ]);
    const { speakers, problems } = desiredSpeakers(t, 'H');
    assert.equal(speakers.length, 1);
    assert.deepEqual(
      speakers[0]!.peers.map((p) => p.name),
      ['isp1'],
    );
    assert.deepEqual(
      speakers[0]!.config.networks.map((n) => n.prefix),
      ['192.0.2.0/25'],
    );
    assert.equal(speakers[0]!.config.routerId, '203.0.113.1');
    const text = problems.map((p) => `${p.object}: ${p.message}`).join('\n');
    assert.match(text, /bgp-peer 'bad-as': peerAs 23456 is not a usable AS number/);
    assert.match(
      text,
      /bgp-peer 'off-subnet': peerAddress 198\.51\.100\.7 is not on the subnet of port 'edge-up'/,
    );
    assert.match(text, /bgp-network 'elsewhere' \(198\.51\.100\.0\/24\): .*outside every port subnet/);
    assert.deepEqual(desiredSpeakers(t, 'other-host').speakers, [], 'another host serves nothing of it');
  });
});

describe('learned routes', () => {
  const json = {
    routes: {
      '203.0.113.128/25': [
        { valid: true, bestpath: true, peerId: '203.0.113.2', network: '203.0.113.128/25' },
        { valid: true, peerId: '203.0.113.6', network: '203.0.113.128/25' },
      ],
      '192.0.2.0/25': [{ valid: true, peerId: '(unspec)', network: '192.0.2.0/25' }],
      '198.51.100.0/24': [{ valid: false, peerId: '203.0.113.2', network: '198.51.100.0/24' }],
    },
  };
  it('reads valid paths per peer from FRR JSON', () => {
    const l = learnedFromJson(json, ['203.0.113.2', '203.0.113.6']);
    assert.deepEqual([...l.get('203.0.113.2')!], ['203.0.113.128/25']);
    assert.deepEqual([...l.get('203.0.113.6')!], ['203.0.113.128/25']);
  });
  it('creates what is missing, keeps what is right, deletes the rest; caps per peer', () => {
    const route = (id: string, dstPrefix: string, gateway: string) =>
      ({
        id,
        version: 1,
        name: null,
        routerId: 'R',
        dstPrefix,
        srcPrefix: '0.0.0.0/0',
        nextHopPortId: 'up',
        gateway,
        weight: 100,
        type: 'normal',
        source: 'bgp',
      }) as Obj<'route'>;
    const existing = [
      route('keep', '203.0.113.128/25', '203.0.113.2'),
      route('stale', '198.51.100.0/24', '203.0.113.2'),
      route('dup', '203.0.113.128/25', '203.0.113.2'),
    ];
    const learned = new Map([['203.0.113.2', new Set(['203.0.113.128/25', '198.51.100.128/25'])]]);
    const d = routeOps(existing, learned, { routerId: 'R', portId: 'up', cap: 10 });
    assert.deepEqual(
      d.ops.map((o) =>
        o.op === 'delete'
          ? `delete ${o.id}`
          : o.op === 'create'
            ? `create ${String(o.fields.dstPrefix)} via ${String(o.fields.gateway)} ${String(o.fields.source)}`
            : o.op,
      ),
      ['delete stale', 'delete dup', 'create 198.51.100.128/25 via 203.0.113.2 bgp'],
    );
    const capped = routeOps([], learned, { routerId: 'R', portId: 'up', cap: 1 });
    assert.equal(capped.created, 1);
    assert.equal(capped.capped.get('203.0.113.2'), 1);
    assert.equal(
      routeOps(existing.slice(0, 1), new Map([['203.0.113.2', new Set(['203.0.113.128/25'])]]), {
        routerId: 'R',
        portId: 'up',
        cap: 10,
      }).ops.length,
      0,
      'nothing rewritten',
    );
  });
});

describe('BGP steering flows (agent)', () => {
  it('connects the speaker veth and the uplink for BGP, ICMP and ARP of the peer only', () => {
    const t = topo([peer('isp1')]);
    const port = t.get('port', 'up')!;
    const lines = bgpSteeringFlows(
      t,
      'H',
      new Map([
        ['mnl-up1', 5],
        [speakerInterface(port), 6],
      ]),
    );
    const text = [...lines.values()].map((l) => l.replace(/^cookie=0x[0-9a-f]+,/, '')).join('\n');
    assert.equal(
      text,
      `table=0,priority=200,in_port=6,actions=output:5
table=0,priority=200,tcp,in_port=5,nw_src=203.0.113.2,nw_dst=203.0.113.1,tp_dst=179,actions=output:6
table=0,priority=200,tcp,in_port=5,nw_src=203.0.113.2,nw_dst=203.0.113.1,tp_src=179,actions=output:6
table=0,priority=200,icmp,in_port=5,nw_src=203.0.113.2,nw_dst=203.0.113.1,actions=output:6
table=0,priority=200,arp,in_port=5,arp_spa=203.0.113.2,arp_tpa=203.0.113.1,actions=output:6,CONTROLLER:65535`,
    );
    for (const l of lines.values()) assert.match(l, /^cookie=0x80b9/, 'proactive bit and the BGP tag');
    assert.equal(
      bgpSteeringFlows(t as never, 'H', new Map([['mnl-up1', 5]])).size,
      0,
      'no speaker veth yet: no flow',
    );
  });
});
