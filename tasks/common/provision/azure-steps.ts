/**
 * FluxOidcProvision, Azure: the AKS cluster (OIDC issuer + workload identity), the managed identity and
 * one federated credential per Flux service account, each observed before it is written.
 */
import { type ArmClients } from '../azure/clients';
import type { ManagedCluster } from '@azure/arm-containerservice';
import {
  enableWorkloadIdentity,
  isClusterBusy,
  needsWorkloadIdentityUpdate,
  readClusterResource,
  requireIssuer,
  type ClusterRef,
  type ClusterState,
} from '../azure/cluster';
import {
  desiredCredentials,
  listCredentials,
  planCredentials,
  TOKEN_EXCHANGE_AUDIENCE,
  writeCredential,
  type Credential,
  type CredentialChange,
  type CredentialPlan,
} from '../azure/federated';
import {
  createIdentity,
  readIdentity,
  type CreateIdentityOptions,
  type IdentityRef,
  type IdentityState,
} from '../azure/identity';
import type { RetryPolicy } from '../http/retry';
import type { Logger } from '../log';
import { KNOWN_AFTER_APPLY, type Change, type Step } from '../plan';
import type { ProvisionInputs } from '../../FluxOidcProvision/inputs';
import { type Facts, type CredentialObservation } from './model';

/** A federated credential's field change as the plan shows it (an issuer known only after apply included). */
function toPlanChange(c: CredentialChange): Change {
  return {
    field: c.field,
    ...(c.from !== undefined ? { from: c.from } : {}),
    to: c.afterApply ? KNOWN_AFTER_APPLY : c.to,
  };
}

export interface AzureStepContext {
  log: Logger;
  principal: string;
  retry: RetryPolicy;
}

export function clusterStep(
  clients: ArmClients,
  ref: ClusterRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<ClusterState> {
  // The resource as observed: the update's read-modify-write starts from it (If-Match guards it).
  let resource: ManagedCluster | undefined;
  return {
    id: 'cluster',
    kind: 'ManagedCluster',
    name: `${ref.resourceGroup}/${ref.name}`,
    async observe() {
      const read = await readClusterResource(clients, ref, c);
      resource = read.resource;
      facts.cluster = read.state;
      return read.state;
    },
    plan(s) {
      if (!needsWorkloadIdentityUpdate(s)) {
        return {
          action: 'unchanged',
          changes: [],
          note: `OIDC issuer and workload identity are on; issuer ${s.issuerUrl ?? '(none reported)'}`,
        };
      }
      const changes: Change[] = [];
      if (!s.oidcIssuerEnabled) {
        changes.push({ field: 'oidcIssuerProfile.enabled', from: false, to: true });
        changes.push({ field: 'oidcIssuerProfile.issuerURL', from: s.issuerUrl, to: KNOWN_AFTER_APPLY });
      }
      if (!s.workloadIdentityEnabled)
        changes.push({ field: 'securityProfile.workloadIdentity.enabled', from: false, to: true });
      if (!inputs.enableClusterFeatures) {
        return {
          action: 'skip',
          changes,
          note: 'enableClusterFeatures is false: the task does not change the cluster',
        };
      }
      const busy = isClusterBusy(s) ? `; the cluster is ${s.provisioningState}, apply waits for it` : '';
      return {
        action: 'update',
        changes,
        note: `read-modify-write PUT of the cluster (long-running; enabling the OIDC issuer restarts the API server)${busy}`,
      };
    },
    async apply() {
      facts.cluster = await enableWorkloadIdentity(clients, ref, {
        log: c.log,
        principal: c.principal,
        retry: c.retry,
        timeoutMs: inputs.clusterUpdateTimeoutMinutes * 60_000,
        ...(resource ? { observed: resource } : {}),
      });
      return { note: `issuer ${facts.cluster.issuerUrl}` };
    },
  };
}

export function identityStep(
  clients: ArmClients,
  ref: IdentityRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<IdentityState | undefined> {
  const location = () => inputs.identityLocation ?? facts.cluster?.location;
  return {
    id: 'identity',
    kind: 'UserAssignedIdentity',
    name: `${ref.resourceGroup}/${ref.name}`,
    async observe() {
      // Provision goes on to create the identity: a refused read asks for the role that can.
      const found = await readIdentity(clients, ref, { ...c, writes: true });
      facts.identity = found;
      return found;
    },
    plan(found) {
      if (found) {
        const moved =
          inputs.identityLocation && found.location.toLowerCase() !== inputs.identityLocation.toLowerCase()
            ? `; it is in ${found.location}, not ${inputs.identityLocation} (an identity cannot move; kept)`
            : '';
        return {
          action: 'unchanged',
          changes: [],
          note: `client id ${found.clientId}, principal id ${found.principalId}${moved}`,
        };
      }
      return {
        action: 'create',
        changes: [
          { field: 'location', to: location() ?? KNOWN_AFTER_APPLY },
          { field: 'clientId', to: KNOWN_AFTER_APPLY },
          { field: 'principalId', to: KNOWN_AFTER_APPLY },
        ],
      };
    },
    async apply() {
      const loc = location();
      if (!loc) throw new Error('the cluster location is unknown (the cluster step did not run)');
      // A parallel job of the fleet may have created a shared identity since it was observed: keep
      // theirs (an identity cannot be created again in another region, and needs no second PUT).
      const meanwhile = async () => {
        const found = await readIdentity(clients, ref, c);
        if (found) facts.identity = found;
        return found ? { note: `created meanwhile by another run: client id ${found.clientId}` } : undefined;
      };
      const kept = await meanwhile();
      if (kept) return kept;
      try {
        facts.identity = await createIdentity(clients, ref, opts(loc));
      } catch (err) {
        const theirs = await meanwhile();
        if (theirs) return theirs;
        throw err;
      }
      return { note: `client id ${facts.identity.clientId}, principal id ${facts.identity.principalId}` };
    },
  };

  function opts(loc: string): CreateIdentityOptions {
    return {
      log: c.log,
      principal: c.principal,
      retry: c.retry,
      location: loc,
      // A shared identity belongs to no one cluster (and a parallel job's PUT must not flip its tags).
      tags:
        inputs.identityScope === 'shared'
          ? { 'managed-by': 'FluxOidcProvision', 'flux-identity-scope': 'shared' }
          : { 'managed-by': 'FluxOidcProvision', 'flux-cluster': inputs.clusterName },
    };
  }
}

export function credentialSteps(
  clients: ArmClients,
  identity: IdentityRef,
  inputs: ProvisionInputs,
  facts: Facts,
  c: AzureStepContext,
): Step<CredentialObservation>[] {
  // One list per identity and issuer, shared by the credential steps (they observe back to back);
  // this run's own writes are added to it rather than read again.
  let cache: { identityId: string; issuer: string | undefined; list: Promise<Credential[]> } | undefined;
  const existing = (): Promise<Credential[]> => {
    const id = facts.identity;
    if (!id) return Promise.resolve([]);
    if (!cache || cache.identityId !== id.id || cache.issuer !== facts.cluster?.issuerUrl) {
      cache = { identityId: id.id, issuer: facts.cluster?.issuerUrl, list: listCredentials(clients, identity, c) };
    }
    return cache.list;
  };
  const desiredFor = (sa: string, issuer: string | undefined) => desiredCredential(inputs, sa, issuer);
  const planOne = (sa: string, o: CredentialObservation): CredentialPlan =>
    planCredentials(o.existing, [desiredFor(sa, o.issuer)])[0];

  return inputs.serviceAccounts.map((sa): Step<CredentialObservation> => ({
    id: `credential:${sa}`,
    kind: 'FederatedIdentityCredential',
    name: desiredFor(sa, undefined).name,
    dependsOn: ['cluster', 'identity'],
    async observe() {
      const list = await existing();
      const cl = facts.cluster;
      return {
        existing: list,
        issuer: cl?.oidcIssuerEnabled ? cl.issuerUrl : undefined,
        identityExists: !!facts.identity,
      };
    },
    plan(o) {
      const p = planOne(sa, o);
      facts.credentialNames.set(sa, p.name);
      return { action: p.action, changes: p.changes.map(toPlanChange), ...(p.note ? { note: p.note } : {}) };
    },
    async apply(o) {
      const cl = facts.cluster;
      if (!cl || !facts.identity)
        throw new Error('the cluster or the identity is unknown (an earlier step did not run)');
      const issuer = requireIssuer(cl, { resourceGroup: inputs.resourceGroup, name: inputs.clusterName }).issuerUrl!;
      const p = planOne(sa, { ...o, issuer });
      if (p.action === 'unchanged') return { note: 'already present' };
      const written = await writeCredential(
        clients,
        identity,
        { name: p.name, issuer, subject: p.desired.subject, audiences: [TOKEN_EXCHANGE_AUDIENCE] },
        { log: c.log, principal: c.principal, retry: c.retry },
      );
      if (cache) {
        const before = cache.list;
        cache.list = before.then((list) => [...list.filter((x) => x.name !== written.name), written]);
      }
      facts.credentialNames.set(sa, p.name);
      return {
        note:
          p.action === 'update' ? `updated in place: ${p.changes.map((x) => x.field).join(', ')} corrected` : undefined,
      };
    },
  }));
}

/** The credential one service account needs (the issuer undefined while the cluster's is unknown). */
function desiredCredential(inputs: ProvisionInputs, sa: string, issuer: string | undefined) {
  const r = desiredCredentials({
    pattern: inputs.federatedCredentialName,
    serviceAccounts: [sa],
    clusterName: inputs.clusterName,
    namespace: inputs.fluxNamespace,
    issuer,
  });
  // The pattern was validated with the inputs; an error here is a bug.
  if ('error' in r) throw new Error(r.error);
  return r.credentials[0];
}
