/**
 * midonet-cni's entry point, as a CNI runtime (or cnitool) calls it: CNI_COMMAND and the other CNI_*
 * variables in the environment, the network configuration on stdin; the result (ADD), the version
 * list (VERSION) or an error on stdout as the specification's JSON.
 *
 * Invariant: every failure, including a crash of a dependency, ends as CNI error JSON on stdout
 * ({cniVersion, code, msg, details}) and exit status 1; nothing but that JSON goes to stdout.
 */
import { readFileSync } from 'node:fs';
import { messageLine, quote } from '../quote.js';
import { Ovs } from '../ovs/ovs.js';
import { createLogger } from '../log.js';
import { StoreError } from '../state/errors.js';
import { openStore } from '../state/open.js';
import type { TopologyStore } from '../state/store.js';
import { CNI_CODES, CniError, SUPPORTED_VERSIONS, parseNetConf, readEnv, type NetConf } from './config.js';
import { cmdAdd, cmdCheck, cmdDel, cmdGc, cmdStatus } from './plugin.js';

function cniErrorOf(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof StoreError) {
    switch (e.code) {
      case 'unavailable':
      case 'exhausted':
        return new CniError(CNI_CODES.tryAgainLater, e.message);
      case 'invalid':
      case 'not-found':
        return new CniError(CNI_CODES.invalidConfig, e.message);
      default:
        return new CniError(CNI_CODES.storeRefused, e.message);
    }
  }
  return new CniError(CNI_CODES.ioFailure, (e as Error).message ?? String(e));
}

async function openTopology(conf: NetConf): Promise<TopologyStore> {
  if (conf.api === undefined) return openStore(conf.store);
  let token = conf.apiToken;
  if (token === undefined && conf.apiTokenFile !== undefined) {
    try {
      token = readFileSync(conf.apiTokenFile, 'utf8').trim();
    } catch (e) {
      throw new CniError(
        CNI_CODES.invalidConfig,
        `apiTokenFile '${conf.apiTokenFile}': cannot read: ${(e as NodeJS.ErrnoException).code ?? ''}`,
      );
    }
  }
  if (!token)
    throw new CniError(
      CNI_CODES.invalidConfig,
      "network configuration: key 'api' needs 'apiToken' or 'apiTokenFile'",
    );
  const { HttpStore } = await import('../api/http-store.js');
  return new HttpStore(conf.api, token);
}

/**
 * Runs one plugin call; returns what to print and the exit status. `stdin`: the network configuration
 * as it came (bytes, checked to be UTF-8), or as text; `envBytes`: the environment's values as bytes
 * (process-bytes.ts environBytes), so that a CNI_* value that is not UTF-8 is refused.
 */
export async function cniMain(
  env: NodeJS.ProcessEnv,
  stdin: string | Uint8Array,
  envBytes?: ReadonlyMap<string, Uint8Array>,
): Promise<{ out: string; code: number }> {
  let version = '1.1.0';
  try {
    const cmd = env.CNI_COMMAND;
    if (cmd === 'VERSION') {
      const asked = (() => {
        try {
          return (
            JSON.parse(typeof stdin === 'string' ? stdin : Buffer.from(stdin).toString('utf8')) as {
              cniVersion?: unknown;
            }
          ).cniVersion;
        } catch {
          return undefined;
        }
      })();
      return {
        out: JSON.stringify({
          cniVersion: typeof asked === 'string' ? asked : '1.1.0',
          supportedVersions: SUPPORTED_VERSIONS,
        }),
        code: 0,
      };
    }
    if (!['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'].includes(cmd ?? ''))
      throw new CniError(
        CNI_CODES.invalidEnvironment,
        `CNI_COMMAND ${quote(cmd ?? '')} is not one of ADD, DEL, CHECK, GC, STATUS, VERSION`,
      );
    const conf = parseNetConf(stdin);
    version = conf.cniVersion;
    const cniEnv = readEnv(env, envBytes);
    const log = createLogger({ name: 'midonet-cni', level: conf.logLevel, destination: 2 }).child({
      component: 'cni',
    });
    const store = await openTopology(conf);
    const deps = {
      store,
      log,
      now: Date.now,
      ...(env.MIDONET_CNI_CRASH_AFTER ? { crashAfter: env.MIDONET_CNI_CRASH_AFTER } : {}),
      where: {
        hostNs: conf.hostNetns,
        ovs: new Ovs({ dbSock: conf.ovs.dbSock, runDir: conf.ovs.runDir }),
        ovsBridge: conf.ovs.bridge,
      },
    };
    try {
      switch (cniEnv.command) {
        case 'ADD':
          return { out: JSON.stringify(await cmdAdd(conf, cniEnv, deps)), code: 0 };
        case 'DEL':
          await cmdDel(conf, cniEnv, deps);
          return { out: '', code: 0 };
        case 'CHECK':
          await cmdCheck(conf, cniEnv, deps);
          return { out: '', code: 0 };
        case 'GC':
          await cmdGc(conf, deps);
          return { out: '', code: 0 };
        default:
          await cmdStatus(conf, deps);
          return { out: '', code: 0 };
      }
    } finally {
      await store.close();
    }
  } catch (e) {
    const ce = cniErrorOf(e);
    return {
      out: JSON.stringify({
        cniVersion: version,
        code: ce.code,
        msg: messageLine(ce.message),
        details: ce.details,
      }),
      code: 1,
    };
  }
}
