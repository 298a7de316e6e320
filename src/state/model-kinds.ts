/**
 * The kinds of object the suite stores (the keys of the model's field table, model.ts), the kinds whose
 * objects may go unnamed, and the small enumerations of fields that other modules name (API token
 * roles, DHCP lease states).
 *
 * Invariant: KINDS lists every kind once; model.ts's field table has exactly these keys.
 */
import { quote } from '../quote.js';

export const KINDS = [
  'host',
  'tunnel-zone',
  'bridge',
  'router',
  'port',
  'route',
  'chain',
  'rule',
  'port-group',
  'ip-address-group',
  'dhcp',
  'bgp-peer',
  'bgp-network',
  'dhcp-lease',
  'api-token',
  'floating-ip',
  'port-forward',
  'source-nat',
  'nat-block',
  'load-balancer',
  'pool',
  'vip',
  'pool-member',
  'health-monitor',
  'mirror',
] as const;
export type Kind = (typeof KINDS)[number];

export function isKind(s: string): s is Kind {
  return (KINDS as readonly string[]).includes(s);
}

/** The error text for a kind that does not exist, naming the ones that do (or those of `kinds`). */
export function unknownKindMessage(kind: unknown, kinds: readonly string[] = KINDS): string {
  return `unknown kind ${quote(kind)}; kinds are: ${kinds.join(', ')}`;
}

/** Kinds whose objects may be left unnamed (the name is then null and the object is found by id). */
export const OPTIONAL_NAME_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'route',
  'rule',
  'bgp-network',
  'dhcp-lease',
]);

/** Roles of API tokens: readers may only read; admins may also write. */
export const TOKEN_ROLES = ['admin', 'reader'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** States of a DHCP lease: `declined` quarantines an address a client found in use until it expires. */
export const LEASE_STATES = ['active', 'declined'] as const;
