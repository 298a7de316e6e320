/**
 * midonet-cni's network configuration (the JSON a CNI runtime passes on stdin) and its errors.
 *
 * A configuration names the virtual bridge pods join and where the topology is: the store directly
 * (`store`, like the agent) or midonet-api (`api` with `apiToken` or `apiTokenFile`). Addresses come
 * from the bridge's DHCP subnet through the store's lease allocator (src/state/leases.ts, the one the
 * agents' DHCP server uses), or from `ipam: {type: "static", addresses: [...]}`.
 *
 * Invariant: every refusal is a CniError with a code of the CNI specification (1.1, "Error codes") and
 * a message naming the key, the value and what is allowed; a configuration that parses is complete.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { absolutePath, configProblem, hostNameValue, netnsName, ovsBridgeName, storeUrl } from '../config.js';
import { escapeControls, quote, UNSAFE_TEXT } from '../quote.js';
import { DEFAULT_STORE_URL } from '../state/open.js';
import { parseCidr, parseIpv4 } from '../addr.js';
import { utf8Problem } from '../utf8.js';

/** Error codes of the CNI specification; 100 and up are this plugin's own. */
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  /** CHECK found the attachment not as ADD left it. */
  checkFailed: 100,
  /** The store or the API refused a write. */
  storeRefused: 101,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

const absPath = absolutePath;
const cidr = z.string().refine((s) => typeof parseCidr(s, false) !== 'string', {
  message: 'expected an address with its prefix length, e.g. 192.0.2.50/24',
});
const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, { message: 'expected an IPv4 address' });

export const netConfSchema = z
  .object({
    cniVersion: z.enum(SUPPORTED_VERSIONS),
    name: z.string().min(1).max(255),
    type: z.string().min(1),
    /** The virtual bridge (name or id) the pods' ports are made on. */
    bridge: z.string().min(1),
    /** The DHCP subnet (name or id) leases come from; default: the bridge's only subnet with a range. */
    dhcp: z.string().min(1).optional(),
    store: storeUrl.default(DEFAULT_STORE_URL),
    /** midonet-api URL: used instead of `store` when given. */
    api: z
      .string()
      .regex(/^https?:\/\/[^/\s]+/, { message: 'expected http(s)://HOST:PORT' })
      .optional(),
    apiToken: z.string().min(1).optional(),
    apiTokenFile: absPath.optional(),
    /** This host as its agent registered it. */
    hostName: hostNameValue.default(hostname()),
    /** Network namespace where br-int's interfaces live (a lab hypervisor); default: this one. */
    hostNetns: netnsName.optional(),
    ovs: z
      .object({
        dbSock: absPath.default('/var/run/openvswitch/db.sock'),
        runDir: absPath.default('/var/run/openvswitch'),
        bridge: ovsBridgeName.default('br-int'),
      })
      .strict()
      .default({}),
    mtu: z.number().int().min(576).max(9000).optional(),
    /** Open vSwitch's userspace datapath passes partial checksums on: turn transmit offload off. */
    userspaceDatapath: z.boolean().default(false),
    ipam: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('midonet-lease') }).strict(),
        z
          .object({
            type: z.literal('static'),
            addresses: z.array(z.object({ address: cidr, gateway: ipv4.optional() }).strict()).min(1),
          })
          .strict(),
      ])
      .default({ type: 'midonet-lease' }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('warn'),
    // Keys of the CNI specification that runtimes add.
    runtimeConfig: z
      .object({ ips: z.array(z.string()).optional() })
      .passthrough()
      .optional(),
    capabilities: z.record(z.boolean()).optional(),
    args: z.record(z.unknown()).optional(),
    prevResult: z.record(z.unknown()).optional(),
    dns: z.record(z.unknown()).optional(),
    'cni.dev/valid-attachments': z
      .array(z.object({ containerID: z.string(), ifname: z.string() }).passthrough())
      .optional(),
    'cni.dev/attachments': z.array(z.record(z.unknown())).optional(),
  })
  .strict();

export type NetConf = z.output<typeof netConfSchema>;

/**
 * Parses the stdin of a plugin call (as it came, bytes, or text); the error names the key, the value
 * and what is allowed. Bytes must be UTF-8: decoded as they are, a byte that is not would become
 * U+FFFD in a name.
 */
export function parseNetConf(input: string | Uint8Array): NetConf {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    const notUtf8 = utf8Problem(input);
    if (notUtf8 !== undefined)
      throw new CniError(
        CNI_CODES.decodeFailure,
        `network configuration: not valid UTF-8 (${notUtf8}): it is UTF-8 JSON`,
      );
    text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(
      CNI_CODES.decodeFailure,
      `network configuration: not valid JSON: ${escapeControls((e as Error).message)}`,
    );
  }
  const r = netConfSchema.safeParse(raw);
  if (r.success) return r.data;
  const p = configProblem(raw, r.error);
  if (p.code === 'unrecognized_keys')
    throw new CniError(
      CNI_CODES.unsupportedField,
      `network configuration: ${p.text.replace(/^unknown/, 'unsupported')}`,
    );
  if (p.key === 'cniVersion')
    throw new CniError(
      CNI_CODES.incompatibleVersion,
      `network configuration: cniVersion ${quote((raw as { cniVersion?: unknown }).cniVersion)} is not supported; supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  const hint = p.key === 'bridge' ? ' (the virtual bridge, name or id, that pods join)' : '';
  throw new CniError(CNI_CODES.invalidConfig, `network configuration: ${p.text}${hint}`);
}

/** The CNI_* environment of a call. */
export interface CniEnv {
  readonly command: string;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as key=value pairs (K8S_POD_NAME, ...). */
  readonly args: ReadonlyMap<string, string>;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * What is wrong with an interface name, or undefined: the kernel's rules (dev_valid_name: 1 to 15
 * bytes, no '/', ':' or whitespace, not '.' or '..') and this plugin's (no control characters, and
 * no leading '-': the name goes into `ip` argument lists, where it would read as an option).
 */
export function ifnameProblem(v: string): string | undefined {
  if (Buffer.byteLength(v) > 15) return `it is ${Buffer.byteLength(v)} bytes long`;
  if (v === '.' || v === '..') return "'.' and '..' are not interface names";
  if (v.startsWith('-')) return "it starts with '-' (it would read as an option)";
  if (UNSAFE_TEXT.test(v)) return 'it has a control or invisible character';
  if (/\s/.test(v)) return 'it has white space';
  const c = /[/:]/.exec(v);
  return c ? `it has '${c[0]}'` : undefined;
}

/**
 * Reads and checks the environment a runtime sets; `needs` lists what this command requires.
 * `bytes`: the environment's values as the bytes they were given (process-bytes.ts), so a value that
 * is not UTF-8 is refused rather than taken with U+FFFD in place of what was meant (an interface
 * name the runtime gave would not be the one made).
 */
export function readEnv(env: NodeJS.ProcessEnv, bytes?: ReadonlyMap<string, Uint8Array>): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  const need = (k: string, check: RegExp | ((v: string) => string | undefined), what: string): string => {
    const v = env[k];
    if (v === undefined || v === '')
      throw new CniError(CNI_CODES.invalidEnvironment, `${k} is not set (${command}: ${what})`);
    const raw = bytes?.get(k);
    const notUtf8 =
      raw !== undefined && Buffer.from(raw).toString('utf8') === v ? utf8Problem(raw) : undefined;
    if (notUtf8 !== undefined)
      throw new CniError(CNI_CODES.invalidEnvironment, `${k} is not valid UTF-8 (${notUtf8}): ${what}`);
    const why =
      typeof check === 'function' ? check(v) : !check.test(v) || UNSAFE_TEXT.test(v) ? '' : undefined;
    if (why !== undefined)
      throw new CniError(
        CNI_CODES.invalidEnvironment,
        `${k}=${quote(v)}: ${why === '' ? '' : `${why}; `}${what}`,
      );
    return v;
  };
  const wantsAttachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const containerId = wantsAttachment
    ? need('CNI_CONTAINERID', ID_RE, 'a container id: letters, digits, _ . -')
    : '';
  const ifname = wantsAttachment
    ? need(
        'CNI_IFNAME',
        ifnameProblem,
        "an interface name of 1 to 15 bytes, not '.' or '..', not starting with '-', without spaces, '/', ':' or control characters",
      )
    : '';
  const netns =
    command === 'ADD' || command === 'CHECK'
      ? need('CNI_NETNS', /^\//, 'the path of the network namespace')
      : (env.CNI_NETNS ?? '');
  const args = new Map<string, string>();
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new CniError(CNI_CODES.invalidEnvironment, `CNI_ARGS: ${quote(pair)} is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return { command, containerId, netns, ifname, args };
}
