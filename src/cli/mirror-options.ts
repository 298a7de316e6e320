/**
 * The command-line options of port mirrors and of a port's QoS, merged into the option table of
 * options.ts. A mirror's match filter takes the rule condition options (--dst, --proto, ...; see
 * CONDITION_OPTIONS), except the connection-tracking and egress-port ones, which a mirror cannot read.
 *
 * Invariant: like options.ts, each option only translates text to a field value; the store checks
 * the rest (a source, a destination that is no source, a burst with a rate) and is the authority.
 */
import type { OptionSpec } from './options.js';

/** Condition flags a mirror does not take (its filter reads the headers as the packet entered). */
export const MIRROR_EXCLUDED_CONDITIONS: ReadonlySet<string> = new Set([
  'conntrack',
  'out-ports',
  'out-port-group',
]);

export const MIRROR_OPTIONS: { mirror: readonly OptionSpec[] } = {
  mirror: [
    { flag: 'name', field: 'name', type: { t: 'string' }, describe: 'unique name (required)' },
    {
      flag: 'ports',
      field: 'portIds',
      type: { t: 'refs', kind: 'port' },
      describe: 'source ports, comma-separated',
    },
    {
      flag: 'bridge',
      field: 'bridgeId',
      type: { t: 'ref', kind: 'bridge' },
      describe: 'source bridge: every port of it ("none" clears)',
    },
    {
      flag: 'direction',
      field: 'direction',
      type: { t: 'enum', values: ['in', 'out', 'both'] },
      describe: 'in: packets entering at a source port; out: leaving through one; both (default)',
    },
    {
      flag: 'to-port',
      field: 'toPortId',
      type: { t: 'ref', kind: 'port' },
      describe: 'the port the copies go out of, on any host',
      required: true,
    },
    { flag: 'admin-state-up', field: 'adminStateUp', type: { t: 'bool' }, describe: 'true or false' },
  ],
};

/** A port's ingress policing (src/agent/qos.ts). */
export const PORT_QOS_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'rate-kbps',
    field: 'rateKbps',
    type: { t: 'int', min: 1, max: 100_000_000 },
    describe: 'QoS: police what the VM sends to this rate, kbit/s ("none" clears)',
  },
  {
    flag: 'burst-kb',
    field: 'burstKb',
    type: { t: 'int', min: 1, max: 100_000_000 },
    describe: 'QoS: the burst allowed above the rate, kbit (needs --rate-kbps; "none" clears)',
  },
];
