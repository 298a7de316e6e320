/**
 * The field types of a DHCP subnet's optional options: its domain name (option 15), its classless
 * static routes (option 121, RFC 3442) and operator-defined extra options by number.
 *
 * Invariant: a stored value encodes as a valid option: a domain name is 1 to 253 characters of
 * letters, digits, '-' and '.', with labels of 1 to 63; a route's destination is a prefix without host
 * bits; an extra option's code is one the server does not write itself (`SERVER_OPTIONS`) and its
 * value is 1 to 255 bytes, stored as lower-case hex. A value that fails says what is allowed (the
 * store's error names the field and quotes the value).
 */
import { z } from 'zod';
import { parseCidr, parseIpv4 } from '../addr.js';

/** Option codes the server writes itself (or that frame the options): not for `extraOptions`. */
export const SERVER_OPTIONS: ReadonlyMap<number, string> = new Map([
  [0, 'pad'],
  [1, 'subnet mask: from the subnet'],
  [3, 'router: the gateway'],
  [6, 'DNS servers: dnsServers'],
  [12, 'host name: the host entry'],
  [15, 'domain name: domainName'],
  [26, 'interface MTU: the agent configuration'],
  [50, 'requested address'],
  [51, 'lease time: leaseTime'],
  [52, 'option overload'],
  [53, 'message type'],
  [54, 'server identifier'],
  [55, 'parameter request list'],
  [58, 'renewal time: from leaseTime'],
  [59, 'rebinding time: from leaseTime'],
  [61, 'client identifier'],
  [121, 'classless static routes: staticRoutes'],
  [255, 'end'],
]);

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS domain name (option 15), e.g. tenant.example. */
export const domainName = z.string().superRefine((s, ctx) => {
  if (
    s.length === 0 ||
    s.length > 253 ||
    !s
      .replace(/\.$/, '')
      .split('.')
      .every((l) => LABEL.test(l))
  )
    ctx.addIssue({
      code: 'custom',
      message: 'expected a domain name such as tenant.example (letters, digits, - and ., labels of 1 to 63)',
    });
});

/** One classless static route handed to clients: a destination prefix through a gateway. */
export const staticRoute = z
  .object({
    destination: z.string().superRefine((s, ctx) => {
      const r = parseCidr(s, true);
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
    }),
    gateway: z.string().refine((s) => parseIpv4(s) !== undefined, {
      message: 'expected a dotted-quad IPv4 address, e.g. 192.0.2.1',
    }),
  })
  .strict();

/** An operator-defined option: its code and its value as hex (1 to 255 bytes). */
export const extraOption = z
  .object({
    code: z
      .number()
      .int()
      .min(1)
      .max(254)
      .superRefine((c, ctx) => {
        const why = SERVER_OPTIONS.get(c);
        if (why !== undefined)
          ctx.addIssue({ code: 'custom', message: `option ${c} is written by the server (${why})` });
      }),
    hex: z
      .string()
      .transform((s) => s.toLowerCase())
      .refine((s) => /^([0-9a-f]{2}){1,255}$/.test(s), {
        message: 'expected 1 to 255 bytes as hex digits, e.g. 0a0b0c',
      }),
  })
  .strict();

export type StaticRoute = z.infer<typeof staticRoute>;
export type ExtraOption = z.infer<typeof extraOption>;
