/**
 * One kept-alive HTTPS agent per cluster client. @kubernetes/client-node 1.x builds a new
 * https.Agent for every request (KubeConfig.applySecurityAuthentication -> createAgent), so every
 * call opened a new TLS connection and built a new secure context (CA, client certificate and key
 * parsed again): with 50 clusters verified at once that was a third of the task's CPU time. This
 * wraps the KubeConfig's authentication: the library still decides the TLS options and headers
 * (token, exec plugin, client certificate) on every request; the agent is swapped for a pooled one
 * while those options stay the same. Proxy agents (cluster.proxyUrl) are left as the library built them.
 */
import * as https from 'node:https';
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

type TlsField = string | Buffer | (string | Buffer)[] | boolean | undefined | unknown;

function fingerprint(o: https.AgentOptions): string {
  const text = (v: TlsField): string =>
    Buffer.isBuffer(v) ? v.toString('base64') : Array.isArray(v) ? v.map(text).join(',') : String(v);
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(text).join('\n');
}

/** The KubeConfig's authentication with one kept-alive agent per distinct TLS configuration. */
export function pooledAuthentication(kc: KubeConfig): SecurityAuthentication {
  let pooled: { key: string; agent: https.Agent } | undefined;
  return {
    getName: () => kc.getName(),
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      const built = context.getAgent();
      // Only the library's plain https.Agent: a proxy agent (a subclass) keeps its own behaviour.
      if (!built || built.constructor !== https.Agent) return;
      const options = (built as https.Agent).options;
      const key = fingerprint(options);
      if (pooled?.key !== key) {
        pooled?.agent.destroy();
        pooled = { key, agent: new https.Agent({ ...options, keepAlive: true }) };
      }
      context.setAgent(pooled.agent);
    },
  };
}

/** What `kc.makeApiClient` builds, with the pooled authentication. */
export function pooledConfiguration(kc: KubeConfig): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: pooledAuthentication(kc) },
  });
}
