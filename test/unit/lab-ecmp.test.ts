// The ECMP lab's pure parts: the ISP's configuration change (two sessions, the default route instead of
// its /25, the first session untouched) and the refusal of --ecmp without its prerequisites, before
// anything is made.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ispConfig } from '../../src/lab/bgp-lab.js';
import { DEFAULT_ROUTE, UPLINK2_ADDRESS, ecmpIspConfig } from '../../src/lab/ecmp-lab.js';
import { LabClash, labUp } from '../../src/lab/lab.js';
import { renderDiff, scriptText } from '../../src/router/frr-config.js';

describe('ECMP lab', () => {
  it('changes the ISP by a diff: adds the second session and the default route, keeps the first session', () => {
    const text = scriptText(renderDiff(ispConfig(), ecmpIspConfig(), 'isp'));
    assert.match(
      text,
      new RegExp(`neighbor ${UPLINK2_ADDRESS.split('/')[0]!.replaceAll('.', '\\.')} remote-as 64510`),
    );
    assert.match(text, /no network 203\.0\.113\.128\/25/);
    assert.match(text, new RegExp(`network ${DEFAULT_ROUTE.replace('/', '\\/')}`));
    assert.doesNotMatch(text, /neighbor 203\.0\.113\.1 /, 'the first session is left alone');
  });

  for (const [what, opts] of [
    ['without --bgp', { hosts: 2, bgp: false }],
    ['with one host', { hosts: 1, bgp: true }],
  ] as const) {
    it(`refuses --ecmp ${what}, naming what it needs, before making anything`, async () => {
      const runDir = join(tmpdir(), `midonet-unit-ecmp-${process.pid}-${opts.hosts}`);
      await assert.rejects(
        labUp({ runDir, vmsPerHost: 1, tunnel: 'gre', ecmp: true, ...opts }),
        (e: Error) => e instanceof LabClash && /--ecmp needs --bgp and --hosts 2 or more/.test(e.message),
      );
      assert.equal(existsSync(runDir), false);
    });
  }
});
