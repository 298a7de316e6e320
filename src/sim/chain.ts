/**
 * Chain evaluation: rules in order, through the chain's classifier, with jump/return/continue.
 *
 * Semantics (MidoNet's): the first matching rule decides; accept, drop and reject end the whole
 * evaluation; a NAT rule (nat.ts) that translates accepts, one with nothing to translate (a reverse
 * rule for a packet of no known connection) lets the next rule decide; `continue` goes on with the next rule; `return` leaves the current chain (in a jumped-to
 * chain: back to the caller, after the jump rule; in the top chain: accept); `jump` evaluates the
 * target chain and, if that ends in return or falls off its end, goes on after the jump rule. Falling
 * off the end of the top chain accepts. Jumps nest at most MAX_JUMP_DEPTH deep (validation forbids
 * cycles; the limit guards anyway, and drops). A matching rule with a DSCP (QoS marking) rewrites an
 * IPv4 packet's DSCP, keeping its ECN bits, before its action is taken.
 *
 * Invariant: every chain evaluated adds its tag (which stands for its rule list and every rule in it);
 * a chain that is referenced but not loaded is recorded as needed (the result becomes notYet).
 */
import { MAX_JUMP_DEPTH, type SimContext } from './context.js';
import { ETH_TYPE_IPV4, IP_TOS } from './flow-match.js';
import { applyNat } from './nat.js';
import type { ChainView } from './topology.js';

export type ChainVerdict = 'accept' | 'drop' | 'reject';
type Inner = ChainVerdict | 'return';

/** Evaluates the chain `chainId` (null: no chain, accept). `where` names it in the trace. */
export function runChain(ctx: SimContext, chainId: string | null, where: string): ChainVerdict {
  if (chainId === null) return 'accept';
  const chain = ctx.topo.chain(chainId);
  if (chain === undefined) {
    ctx.need(chainId);
    return 'drop';
  }
  if (ctx.tracing) ctx.enter(`${where} chain ${chain.name}`);
  const v = evalChain(ctx, chain, 0);
  const verdict: ChainVerdict = v === 'return' ? 'accept' : v;
  if (ctx.tracing) {
    ctx.line(`verdict: ${verdict}`);
    ctx.leave();
  }
  return verdict;
}

function evalChain(ctx: SimContext, chain: ChainView, depth: number): Inner {
  ctx.addTag(chain.tag);
  for (const id of chain.missingRules) ctx.need(id);
  const cls = chain.classifier;
  const cands = ctx.candidates(depth);
  cls.probe(ctx.m, ctx, cands);
  let from = 0;
  for (;;) {
    const pos = cls.firstMatch(ctx.m, ctx, cands, from);
    if (pos < 0) {
      if (ctx.tracing) ctx.line('no rule matched');
      return 'return';
    }
    const rule = cls.rules[pos]!;
    if (ctx.tracing)
      ctx.line(
        `rule ${pos + 1}${rule.name !== null ? ` (${rule.name})` : ''} [${rule.id}] matched: ${rule.action}`,
      );
    if (rule.setDscp !== null && ctx.m.ethType === ETH_TYPE_IPV4) {
      // The whole byte is read so the flow's rewrite of the ECN bits keeps each packet's own.
      const tos = ctx.m.read(IP_TOS, 0xff);
      ctx.m.write(IP_TOS, (rule.setDscp << 2) | (tos & 3));
      if (ctx.tracing) ctx.line(`DSCP set to ${rule.setDscp}`);
    }
    switch (rule.action) {
      case 'accept':
      case 'drop':
      case 'reject':
        return rule.action;
      case 'return':
        return 'return';
      case 'continue':
        from = pos + 1;
        break;
      case 'dnat':
      case 'snat':
      case 'rev-dnat':
      case 'rev-snat':
      case 'static-dnat':
      case 'static-snat': {
        const o = applyNat(ctx, ctx.zone, rule.action, rule.natTargets);
        if (o === 'translated') return 'accept';
        if (o === 'drop') return 'drop';
        if (o === 'exhausted') return 'reject';
        from = pos + 1; // not applicable: the next rule decides
        break;
      }
      case 'jump': {
        const target = rule.jumpChainId === null ? undefined : ctx.topo.chain(rule.jumpChainId);
        if (target === undefined) {
          if (rule.jumpChainId !== null) ctx.need(rule.jumpChainId);
          return 'drop';
        }
        if (depth + 1 >= MAX_JUMP_DEPTH) {
          if (ctx.tracing) ctx.line('jump depth limit reached');
          return 'drop';
        }
        if (ctx.tracing) ctx.enter(`jump to chain ${target.name}`);
        const v = evalChain(ctx, target, depth + 1);
        if (ctx.tracing) ctx.leave();
        if (v !== 'return') return v;
        from = pos + 1;
        break;
      }
    }
  }
}
