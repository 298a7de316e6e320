/**
 * The TopologyStore contract: one suite, written against the interface, run against every backend
 * (each backend's *.test.ts calls `storeContract` with a fixture factory), composed of one file per
 * aspect: objects, validation, the change feed, host liveness, leader election, learned state and
 * concurrent writers. The aspects share one store (names are unique per case), so the cases do not
 * depend on each other's order; cases that need a store of their own (e.g. a small log retention)
 * make one with the factory.
 */
import { describe, before, after } from 'node:test';
import { concurrencyContract } from './contract-concurrency.js';
import { groupContract } from './contract-group.js';
import { electionContract } from './contract-election.js';
import { feedContract } from './contract-feed.js';
import { watchKindsContract } from './contract-watch-kinds.js';
import { ipv6Contract } from './contract-ipv6.js';
import { learnedContract } from './contract-learned.js';
import { learnedScopeContract } from './contract-learned-scope.js';
import { lbContract } from './contract-lb.js';
import { mirrorContract } from './contract-mirror.js';
import { livenessContract } from './contract-liveness.js';
import { objectsContract } from './contract-objects.js';
import { validationContract } from './contract-validation.js';
import type { ContractContext, FixtureFactory, StoreFixture } from './support.js';

export type { FixtureFactory, StoreFixture } from './support.js';
export { rejects } from './support.js';

export function storeContract(backend: string, make: FixtureFactory): void {
  describe(`TopologyStore contract: ${backend}`, () => {
    let fx: StoreFixture | undefined;
    before(async () => {
      fx = await make();
    });
    after(async () => {
      await fx?.cleanup();
    });
    let n = 0;
    const c: ContractContext = {
      fx: () => {
        if (!fx) throw new Error('the contract fixture was not made');
        return fx;
      },
      make,
      uniq: (p) => `${p}-${++n}`,
    };
    describe('objects', () => objectsContract(c));
    describe('validation', () => validationContract(c));
    describe('change feed', () => {
      feedContract(c);
      watchKindsContract(c);
    });
    describe('liveness', () => livenessContract(c));
    describe('election', () => electionContract(c));
    describe('learned state', () => learnedContract(c));
    describe('learned state per device', () => learnedScopeContract(c));
    describe('load balancer', () => lbContract(c));
    describe('IPv6', () => ipv6Contract(c));
    describe('mirror and QoS', () => mirrorContract(c));
    describe('concurrent writers', () => {
      concurrencyContract(c);
      groupContract(c);
    });
  });
}
