/**
 * The value types of the model's fields (model.ts): ids and references, IPv4 addresses, prefixes and
 * interface addresses, MACs, port ranges, names, NAT targets, and the conditions of a rule (also a
 * mirror's filter), each a zod schema that checks and normalizes one value and says what is allowed.
 *
 * Invariant: a value that passes one of these is well-formed on its own; whether it fits its object
 * (references, subnets, uniqueness) is checked elsewhere (model-rules.ts against the store).
 */
import { z } from 'zod';
import { normalizeMac, parseCidr, parseIpv4, parseIpv6 } from '../addr.js';
import { routePrefix } from './ipv6-fields.js';
import { UNSAFE_TEXT } from '../quote.js';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a lowercase UUID, the form every object id has. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Parses "N" or "N-M" (0..65535, N <= M); a message saying what is wrong otherwise. */
export function parsePortRange(s: string): { start: number; end: number } | string {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s.trim());
  if (!m) return 'expected a port or a range such as 1000-2000';
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535) return 'ports are 0 to 65535';
  if (start > end) return 'the range start is above its end';
  return { start, end };
}

export const uuid = z
  .string()
  .refine(isUuid, { message: 'expected a UUID such as 6f1c9d2e-0b7a-4c1e-9a55-3f0d2b8c4e11' });
export const optRef = uuid.nullable().default(null);
export const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, {
  message: 'expected a dotted-quad IPv4 address, e.g. 192.0.2.1',
});
/** An IPv4 address of a NAT object; an IPv6 one is refused saying that IPv6 NAT is not supported. */
export const natIpv4 = z.string().superRefine((s, ctx) => {
  if (parseIpv4(s) !== undefined) return;
  ctx.addIssue({
    code: 'custom',
    message:
      parseIpv6(s) !== undefined
        ? 'IPv6 NAT (floating IPs, port forwards, source NAT) is not supported yet: give an IPv4 address (an IPv6 service can be a load balancer VIP)'
        : 'expected a dotted-quad IPv4 address, e.g. 192.0.2.1',
  });
});
/** A network prefix: host bits must be zero. */
export const prefix = z.string().superRefine((s, ctx) => {
  const r = parseCidr(s, true);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
});
/** An interface address with its prefix length, e.g. a router port's 192.0.2.1/24. */
export const ifaceAddr = z.string().superRefine((s, ctx) => {
  const r = parseCidr(s, false);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
  else if (r.len === 0 || r.len > 30)
    ctx.addIssue({ code: 'custom', message: 'the prefix length of an interface address must be 1 to 30' });
});
export const mac = z.string().transform((s, ctx) => {
  const m = normalizeMac(s);
  if (m === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a MAC address such as 02:00:00:00:00:01' });
    return z.NEVER;
  }
  return m;
});
export const portRange = z.union([
  z
    .object({ start: z.number().int().min(0).max(65535), end: z.number().int().min(0).max(65535) })
    .refine((r) => r.start <= r.end, {
      message: 'the range start is above its end',
    }),
  z.string().transform((s, ctx) => {
    const r = parsePortRange(s);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  }),
]);
export const byte = z.number().int().min(0).max(255);
/** Free text a person gave (names, host names): printable, so it cannot break a line or a terminal. */
export const printable = {
  message:
    'control characters (newlines, tabs, escape sequences) and invisible formatting characters are not allowed',
};
export const name = z
  .string()
  .min(1, { message: 'a name must not be empty' })
  .max(255, { message: 'a name is at most 255 characters' })
  .refine((s) => !UNSAFE_TEXT.test(s), printable)
  .refine((s) => s !== 'none', {
    message: "'none' is reserved: it clears a reference (e.g. --inbound-chain none)",
  })
  .refine((s) => !isUuid(s), { message: 'a name must not look like a UUID' });
export const adminStateUp = z.boolean().default(true);
/** A NAT target: an address range and an optional port range (0-0: keep the packet's port). */
export const natTarget = z
  .object({
    addressFrom: ipv4,
    addressTo: ipv4,
    portFrom: z.number().int().min(0).max(65535).default(0),
    portTo: z.number().int().min(0).max(65535).default(0),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((parseIpv4(t.addressFrom) ?? 0) > (parseIpv4(t.addressTo) ?? 0))
      ctx.addIssue({
        code: 'custom',
        message: `the range ${t.addressFrom}-${t.addressTo} is empty`,
        path: ['addressTo'],
      });
    if ((t.portFrom === 0) !== (t.portTo === 0))
      ctx.addIssue({
        code: 'custom',
        message: 'give both ends of the port range, or neither',
        path: ['portTo'],
      });
    else if (t.portFrom > t.portTo)
      ctx.addIssue({
        code: 'custom',
        message: `the port range ${t.portFrom}-${t.portTo} is empty`,
        path: ['portTo'],
      });
  });

/** A condition value plus its inversion flag: `invert` matches packets that do NOT satisfy it. */
export function cond<T extends z.ZodTypeAny>(value: T) {
  return z.object({ value, invert: z.boolean().default(false) }).strict();
}

export const FRAGMENT_POLICIES = ['any', 'header', 'nonheader', 'unfragmented'] as const;
export const RULE_ACTIONS = [
  'accept',
  'drop',
  'reject',
  'jump',
  'return',
  'continue',
  'dnat',
  'snat',
  'rev-dnat',
  'rev-snat',
  'static-dnat',
  'static-snat',
] as const;
/** Rule actions that translate addresses (src/sim/nat.ts); the forward and static ones take natTargets. */
export const NAT_ACTIONS = ['dnat', 'snat', 'rev-dnat', 'rev-snat', 'static-dnat', 'static-snat'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/** TCP flag names in bit order (FIN is bit 0). */
export const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;

export const conditionsSchema = z
  .object({
    inPorts: cond(z.array(uuid).min(1)),
    outPorts: cond(z.array(uuid).min(1)),
    inPortGroup: cond(uuid),
    outPortGroup: cond(uuid),
    ipAddrGroupSrc: cond(uuid),
    ipAddrGroupDst: cond(uuid),
    ethertype: cond(z.number().int().min(0).max(0xffff)),
    srcMac: z.object({ value: mac, mask: mac.optional(), invert: z.boolean().default(false) }).strict(),
    dstMac: z.object({ value: mac, mask: mac.optional(), invert: z.boolean().default(false) }).strict(),
    ipProto: cond(byte),
    ipTos: cond(byte),
    /** IPv4 or IPv6 (an IPv6 prefix matches IPv6 packets only; sim/rule-match6.ts). */
    srcPrefix: cond(routePrefix),
    dstPrefix: cond(routePrefix),
    srcPort: cond(portRange),
    dstPort: cond(portRange),
    /** Bits of `mask` must equal the same bits of `set` (flag bit order as TCP_FLAGS). */
    tcpFlags: cond(
      z
        .object({ set: byte, mask: byte.refine((m) => m !== 0, { message: 'the mask names no flag' }) })
        .strict(),
    ),
    tcpWindow: cond(portRange),
    icmpType: cond(byte),
    icmpCode: cond(byte),
    fragmentPolicy: cond(z.enum(FRAGMENT_POLICIES)),
    /** new: the first packet of a connection; established: a later one or a reply; related: an ICMP error about one. */
    conntrack: cond(z.enum(['new', 'established', 'related'])),
  })
  .partial()
  .strict();
export type Conditions = z.infer<typeof conditionsSchema>;
/** A mirror's match filter: the stateless rule conditions, read on the headers as the packet entered. */
export const mirrorConditions = conditionsSchema.omit({
  conntrack: true,
  outPorts: true,
  outPortGroup: true,
});
export type ConditionName = keyof Conditions;
