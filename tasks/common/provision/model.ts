/** FluxOidcProvision: what the task logic needs from the pipeline, and what the steps observe and share. */
import type { AzureConnection } from '../auth/types';
import { type ClusterState } from '../azure/cluster';
import { type Credential } from '../azure/federated';
import { type IdentityState } from '../azure/identity';
import { type DevOpsConnection, type DevOpsConnector } from '../devops/connection';
import { type Entitlement } from '../devops/entitlements';
import { type DevOpsIdentity } from '../devops/identities';
import { type ProjectRef, type RepositoryRef } from '../devops/projects';
import { type Team } from '../devops/teams';
import type { RetryPolicy } from '../http/retry';
import type { Logger } from '../log';
import type { ReportBuilder } from '../report/builder';

/** What the core needs from the pipeline (TaskContext provides it). */
export interface ProvisionContext {
  log: Logger;
  mode: 'plan' | 'apply';
  report: ReportBuilder;
  retry: RetryPolicy;
  azureConnection(inputName: string): Promise<AzureConnection>;
  devops: DevOpsConnector;
  setOutput(name: string, value: string): void;
}

export interface ProvisionOptions {
  userAgent?: string;
}

export const TEAM_DESCRIPTION =
  "Managed identities of AKS clusters that Flux uses to read this project's repositories (workload identity). Managed by FluxOidcProvision.";

/** Values learnt while observing and applying, shared by later steps. */
export interface Facts {
  cluster?: ClusterState;
  identity?: IdentityState;
  team?: Team;
  /** Credential name actually used per service account. */
  credentialNames: Map<string, string>;
}

export interface CredentialObservation {
  existing: Credential[];
  issuer: string | undefined;
  identityExists: boolean;
}

export interface UserObservation {
  identityKnown: boolean;
  sp: DevOpsIdentity | undefined;
  entitlement: Entitlement | undefined;
}

export interface MembershipObservation {
  member: boolean;
  spSubject: string | undefined;
  teamSubject: string | undefined;
}

export interface AclObservation {
  teamDescriptor: string | undefined;
  spDescriptor: string | undefined;
  teamAce: { allow: number; deny: number } | undefined;
  spAce: { allow: number; deny: number; effectiveAllow?: number; effectiveDeny?: number } | undefined;
}

export interface DevOpsSession {
  /** Its holder names the devopsConnection's principal in error texts. */
  c: DevOpsConnection;
  project: ProjectRef;
  repo: RepositoryRef;
  /** Puts a fresh token into every client when the current one is close to expiry. */
  refresh(): Promise<void>;
}

/** How messages name a service connection's principal: "client id …, service connection of input …". */
export function principalName(conn: AzureConnection, input: string): string {
  return `client id ${conn.clientId}, service connection ${conn.name ? `'${conn.name}' ` : ''}of input ${input}`;
}

export function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    if (!p) {
      p = fn();
      // A failed attempt is not cached: the error surfaces once, and a later call may retry.
      p.catch(() => {
        p = undefined;
      });
    }
    return p;
  };
}

/**
 * `memo`, started now: for a read that does not depend on the steps before it, so it runs
 * alongside them. Its first caller gets this attempt's outcome (value or error, surfaced then);
 * after a failure a later call tries again, as with `memo`.
 */
export function started<T>(fn: () => Promise<T>): () => Promise<T> {
  const m = memo(fn);
  let first: Promise<T> | undefined = m();
  first.catch(() => undefined);
  return () => {
    const p = first ?? m();
    first = undefined;
    return p;
  };
}
