/**
 * The DHCP subnet the DHCP server's unit tests serve (192.0.2.0/24, gateway and server 192.0.2.1, a
 * dynamic range and one static host), with the client MAC they use; a test overrides what it needs.
 */
import type { DhcpSubnet } from '../../src/state/model.js';

export const TEST_VM_MAC = '02:00:00:00:00:0a';
export const TEST_SERVER_IP = '192.0.2.1';

export function testSubnet(extra: Partial<DhcpSubnet> = {}): DhcpSubnet {
  return {
    id: '00000000-0000-4000-8000-00000000d0c0',
    version: 1,
    name: 'net',
    bridgeId: '00000000-0000-4000-8000-00000000b000',
    subnet: '192.0.2.0/24',
    gateway: TEST_SERVER_IP,
    dnsServers: ['192.0.2.53'],
    domainName: null,
    staticRoutes: [],
    extraOptions: [],
    leaseTime: 3600,
    enabled: true,
    rangeStart: '192.0.2.100',
    rangeEnd: '192.0.2.199',
    hosts: [{ mac: '02:00:00:00:00:5a', address: '192.0.2.50', name: 'db' }],
    ...extra,
  };
}
