/**
 * IPv6 in lab VMs: each VM configures itself by SLAAC with the kernel's own address autoconfiguration
 * (router solicitation, the virtual router's advertisement of its port's /64, an EUI-64 address with
 * duplicate address detection), as a real host on a MidoNet bridge would. Nothing here assigns an
 * IPv6 address by hand.
 *
 * Invariant: IPv6 stays off on the VM's interfaces until its port is bound (addVm calls `enableSlaac`
 * last), so the first router solicitation meets a port the agent knows; the address a VM ends up with
 * is `slaacAddress(prefix, mac)`, which tests compute independently of the kernel.
 */
import { formatIpv6, macToNumber, parseIpv6 } from '../addr.js';
import { run } from '../exec.js';
import { linkLocalOf } from '../sim/port-security.js';

/** Prefixes of the lab's tenant bridges (the router port is ::1 of each /64). */
export const TENANT_PREFIX6 = ['2001:db8:a::', '2001:db8:b::'] as const;

/** The SLAAC (modified EUI-64) address a host with `mac` takes in the /64 `prefix` (IPv6 text). */
export function slaacAddress(prefix: string, mac: string): string {
  const p = parseIpv6(prefix)!;
  const ll = linkLocalOf(macToNumber(mac));
  return formatIpv6([p[0], p[1], ll[2], ll[3]]);
}

/**
 * Turns IPv6 on for `iface` in the VM namespace with router advertisements accepted and addresses
 * autoconfigured; the kernel then solicits a router and configures itself.
 */
export async function enableSlaac(netns: string, iface = 'eth0'): Promise<void> {
  await run(
    'sysctl',
    [
      '-q',
      '-w',
      `net.ipv6.conf.${iface}.accept_ra=1`,
      `net.ipv6.conf.${iface}.autoconf=1`,
      `net.ipv6.conf.${iface}.forwarding=0`,
      `net.ipv6.conf.${iface}.router_solicitation_interval=1`,
      // MLD retransmits soon, so a VM's IPv6 chatter is over once its address is (see waitSlaac).
      `net.ipv6.conf.${iface}.mldv1_unsolicited_report_interval=10`,
      `net.ipv6.conf.${iface}.mldv2_unsolicited_report_interval=10`,
      `net.ipv6.conf.${iface}.disable_ipv6=0`,
    ],
    { netns },
  );
}

/**
 * Waits until every VM holds its SLAAC address (`want` by VM namespace) past duplicate address
 * detection, so the lab is up only with IPv6 ready and its start-up chatter (solicitations, DAD, MLD
 * reports) over; a VM that does not get it within `timeoutMs` is named in the error.
 */
export async function waitSlaac(
  want: ReadonlyArray<{ netns: string; address: string }>,
  timeoutMs = 30000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  await Promise.all(
    want.map(async ({ netns, address }) => {
      for (;;) {
        const out = await run('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], {
          netns,
        });
        const line = out.split('\n').find((l) => l.includes(` ${address}/64 `));
        if (line !== undefined && !line.includes('tentative')) return;
        if (Date.now() > until)
          throw new Error(`${netns} did not configure ${address} by SLAAC within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }),
  );
}
