/**
 * In-cluster checks: Flux version, the controllers' ServiceAccounts, pod templates and running
 * pods (the webhook's injected environment), the GitRepository, and object-level identity.
 */
import type {
  CheckResult,
  ClusterFacts,
  ControllerFacts,
  GitRepositoryFacts,
  IdentityFacts,
  VerifyTarget,
} from './model';
import { IMAGE_AUTOMATION_SA } from './model';
import { fixContext } from './azure-checks';
import { fixGitRepository, fixPatchManifests, fixRestart } from './fixes';
import { azureDevOpsHttpsUrl, canonicalSegment, parseAzureDevOpsGitUrl, sameRepository } from '../flux/url';
import {
  compareSemVer,
  controllerVersion,
  formatSemVer,
  MIN_FLUX,
  MIN_IMAGE_AUTOMATION,
  MIN_SOURCE_CONTROLLER,
} from './flux-version';

export const WI_LABEL = 'azure.workload.identity/use';
export const WI_CLIENT_ID = 'azure.workload.identity/client-id';
export const WI_TENANT_ID = 'azure.workload.identity/tenant-id';
export const INJECTED_ENV = [
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
] as const;

export function clusterChecks(f: ClusterFacts, identity: IdentityFacts | null, t: VerifyTarget): CheckResult[] {
  const out: CheckResult[] = [fluxVersionCheck(f, t)];
  const clientId = identity?.clientId ?? t.clientId;
  for (const c of f.controllers) {
    out.push(serviceAccountCheck(c, clientId, identity, t));
    out.push(podTemplateCheck(c, t));
    out.push(podsCheck(c, clientId, t));
  }
  out.push(gitRepositoryCheck(f.gitRepository, f.gitRepositoryError, t));
  out.push(objectLevelCheck(f, t));
  return out;
}

function fluxVersionCheck(f: ClusterFacts, t: VerifyTarget): CheckResult {
  const base = { id: 'cluster.flux-version', group: 'cluster' as const, title: 'Flux 2.4 or later' };
  const upgrade =
    'upgrade Flux to 2.4 or later: regenerate clusters/<cluster>/flux-system/gotk-components.yaml (`flux install --export`, or FluxManifestPatch with component regeneration), push, and let Flux apply it';
  if (!f.sourceController) {
    return {
      ...base,
      status: 'fail',
      evidence: [`deployment ${t.fluxNamespace}/source-controller: not found`],
      cause: `Flux is not installed in namespace ${t.fluxNamespace}`,
      fix: `check the fluxNamespace input (kubectl get deployments -A -l app.kubernetes.io/part-of=flux)`,
    };
  }
  const evidence: string[] = [];
  const problems: string[] = [];
  const sc = controllerVersion(f.sourceController, 'source-controller');
  evidence.push(sc.evidence);
  if (sc.flux) evidence.push(`Flux ${formatSemVer(sc.flux)}`);
  if (sc.version && compareSemVer(sc.version, MIN_SOURCE_CONTROLLER) < 0)
    problems.push(
      `source-controller ${formatSemVer(sc.version)} has no GitRepository spec.provider (needs ${formatSemVer(MIN_SOURCE_CONTROLLER)}+, Flux 2.4)`,
    );
  else if (!sc.version && sc.flux && compareSemVer(sc.flux, MIN_FLUX) < 0)
    problems.push(`Flux ${formatSemVer(sc.flux)} has no GitRepository spec.provider (needs 2.4+)`);
  if (t.serviceAccounts.includes(IMAGE_AUTOMATION_SA) && f.imageAutomationController) {
    const iac = controllerVersion(f.imageAutomationController, IMAGE_AUTOMATION_SA);
    evidence.push(iac.evidence);
    if (iac.version && compareSemVer(iac.version, MIN_IMAGE_AUTOMATION) < 0)
      problems.push(
        `image-automation-controller ${formatSemVer(iac.version)} cannot push with provider: azure (needs ${formatSemVer(MIN_IMAGE_AUTOMATION)}+)`,
      );
  }
  if (problems.length) return { ...base, status: 'fail', evidence, cause: problems.join('; '), fix: upgrade };
  if (!sc.version && !sc.flux)
    return {
      ...base,
      status: 'warn',
      evidence,
      cause: 'the Flux version cannot be read from the image tag or labels',
      fix: 'make sure the controllers run Flux 2.4+ images (flux version)',
    };
  return { ...base, status: 'pass', evidence };
}

function serviceAccountCheck(
  c: ControllerFacts,
  clientId: string | undefined,
  identity: IdentityFacts | null,
  t: VerifyTarget,
): CheckResult {
  const fc = fixContext(t, identity?.name);
  const base = {
    id: `cluster.service-account:${c.serviceAccount}`,
    group: 'cluster' as const,
    title: `ServiceAccount ${c.serviceAccount}`,
  };
  if (!c.sa) {
    return {
      ...base,
      status: 'fail',
      evidence: [`serviceaccount ${t.fluxNamespace}/${c.serviceAccount}: not found`],
      cause: 'the ServiceAccount does not exist (wrong serviceAccounts input, or the controller is not installed)',
      fix: `check the serviceAccounts input (kubectl -n ${t.fluxNamespace} get serviceaccounts)`,
    };
  }
  const ann = c.sa.annotations[WI_CLIENT_ID];
  const tenantAnn = c.sa.annotations[WI_TENANT_ID];
  const label = c.sa.labels[WI_LABEL];
  const evidence = [`annotation ${WI_CLIENT_ID}: ${ann ?? '(none)'}`, `label ${WI_LABEL}: ${label ?? '(none)'}`];
  if (tenantAnn) evidence.push(`annotation ${WI_TENANT_ID}: ${tenantAnn}`);
  if (clientId) evidence.push(`identity clientId: ${clientId}`);
  if (!ann) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: `the ServiceAccount has no ${WI_CLIENT_ID} annotation, so the webhook does not know which identity to use`,
      fix: fixPatchManifests(`clientId ${clientId ?? '<clientId>'}`),
    };
  }
  if (clientId && ann.toLowerCase() !== clientId.toLowerCase()) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: `wrong client id: the annotation names ${ann}, the identity's clientId is ${clientId} (Entra would look for federated credentials on another identity)`,
      fix: `${fixPatchManifests(`clientId ${clientId}`)}; then ${fixRestart(fc, c.deployment?.name ?? c.serviceAccount)}`,
    };
  }
  if (tenantAnn && identity && tenantAnn.toLowerCase() !== identity.tenantId.toLowerCase()) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: `the ${WI_TENANT_ID} annotation names tenant ${tenantAnn}, the identity lives in ${identity.tenantId}`,
      fix: fixPatchManifests(`remove or correct ${WI_TENANT_ID}`),
    };
  }
  if (label !== 'true') {
    return {
      ...base,
      status: 'warn',
      evidence,
      cause: `the ServiceAccount lacks the ${WI_LABEL}: "true" label the Flux documentation's patch sets (the webhook keys on the pod label)`,
      fix: fixPatchManifests('ServiceAccount label'),
    };
  }
  return { ...base, status: 'pass', evidence };
}

function podTemplateCheck(c: ControllerFacts, t: VerifyTarget): CheckResult {
  const base = {
    id: `cluster.pod-template:${c.serviceAccount}`,
    group: 'cluster' as const,
    title: `Pod template label on ${c.serviceAccount}`,
  };
  const d = c.deployment;
  if (!d)
    return {
      ...base,
      status: 'fail',
      evidence: [`deployment ${t.fluxNamespace}/${c.serviceAccount}: not found`],
      cause: 'the controller Deployment does not exist',
      fix: `check the serviceAccounts input (kubectl -n ${t.fluxNamespace} get deployments)`,
    };
  const tpl = d.templateLabels[WI_LABEL];
  const meta = d.labels[WI_LABEL];
  const evidence = [
    `spec.template.metadata.labels.${WI_LABEL}: ${tpl ?? '(none)'}`,
    `metadata.labels.${WI_LABEL}: ${meta ?? '(none)'}`,
    `serviceAccountName: ${d.serviceAccountName || 'default'}`,
  ];
  if (tpl !== 'true') {
    const onlyMeta = meta === 'true';
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: onlyMeta
        ? `the label is only on the Deployment's metadata, not on its pod template (spec.template.metadata.labels); the webhook sees pods, so ${c.serviceAccount} runs without workload identity ("missing environment variables for workload identity")`
        : `the pod template has no ${WI_LABEL}: "true" label, so the webhook does not inject workload identity`,
      fix: fixPatchManifests('pod-template label on the Deployment'),
    };
  }
  if ((d.serviceAccountName || 'default') !== c.serviceAccount) {
    return {
      ...base,
      status: 'warn',
      evidence,
      cause: `the Deployment runs as ServiceAccount ${d.serviceAccountName || 'default'}, not ${c.serviceAccount}`,
      fix: `check the serviceAccounts input; the federated credential must name the ServiceAccount the pods run as`,
    };
  }
  return { ...base, status: 'pass', evidence };
}

function podsCheck(c: ControllerFacts, clientId: string | undefined, t: VerifyTarget): CheckResult {
  const fc = fixContext(t);
  const dep = c.deployment?.name ?? c.serviceAccount;
  const base = {
    id: `cluster.pods:${c.serviceAccount}`,
    group: 'cluster' as const,
    title: `Running ${c.serviceAccount} pods have workload identity`,
  };
  const running = c.pods.filter((p) => p.phase === 'Running');
  if (!c.deployment) return { ...base, status: 'skip', evidence: ['no Deployment'] };
  if (running.length === 0) {
    return {
      ...base,
      status: 'fail',
      evidence: [
        `${c.pods.length} pod(s), none Running: ${c.pods.map((p) => `${p.name} ${p.phase}`).join(', ') || 'none'}`,
      ],
      cause: `no ${c.serviceAccount} pod is running`,
      fix: `kubectl -n ${t.fluxNamespace} describe deployment/${dep} and fix what keeps the pods from starting`,
    };
  }
  const templateOk = c.deployment.templateLabels[WI_LABEL] === 'true';
  const evidence: string[] = [];
  const missing: string[] = [];
  const stale: string[] = [];
  for (const p of running) {
    const absent = INJECTED_ENV.filter((k) => !p.env[k]);
    evidence.push(
      `${p.name} (started ${p.startTime ?? '?'}${p.ready ? ', ready' : ', not ready'}): ${absent.length ? `missing ${absent.join(', ')}` : `AZURE_CLIENT_ID=${p.env.AZURE_CLIENT_ID}`}`,
    );
    if (absent.length) missing.push(p.name);
    else if (clientId && p.env.AZURE_CLIENT_ID.toLowerCase() !== clientId.toLowerCase()) stale.push(p.name);
  }
  if (missing.length) {
    const why = !templateOk
      ? `the pods were not mutated by the workload identity webhook because the pod template lacks the ${WI_LABEL} label (see cluster.pod-template:${c.serviceAccount})`
      : `pods not restarted: ${missing.join(', ')} started before workload identity was configured (label, annotation or webhook), so they have no AZURE_* environment`;
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: why,
      fix: templateOk ? fixRestart(fc, dep) : `${fixPatchManifests('pod-template label')}; then ${fixRestart(fc, dep)}`,
    };
  }
  if (stale.length) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: `pods not restarted: ${stale.join(', ')} still use the previous client id (the annotation changed after they started)`,
      fix: fixRestart(fc, dep),
    };
  }
  return { ...base, status: 'pass', evidence };
}

/** The organization name of an organization URL (dev.azure.com/{org}, {org}.visualstudio.com, else the last path segment). */
export function organizationName(orgUrl: string): string | undefined {
  try {
    const u = new URL(orgUrl);
    const segs = u.pathname.split('/').filter(Boolean);
    if (u.hostname.toLowerCase() === 'dev.azure.com') return segs[0];
    const vs = /^([a-z0-9][a-z0-9-]*)\.visualstudio\.com$/i.exec(u.hostname);
    if (vs) return vs[1];
    return segs[segs.length - 1];
  } catch {
    return undefined;
  }
}

/** `https://dev.azure.com/{org}/{project}/_git/{repo}`: the form provider azure needs (and FluxManifestPatch writes). */
export function expectedRepoUrl(t: VerifyTarget): string {
  return azureDevOpsHttpsUrl({
    organization: organizationName(t.organizationUrl) ?? '<organization>',
    project: canonicalSegment(t.project),
    repository: canonicalSegment(t.repository),
  });
}

/** What is wrong with the GitRepository URL for provider azure and this target, if anything. */
export function repoUrlProblem(url: string, t: VerifyTarget): string | undefined {
  const ref = parseAzureDevOpsGitUrl(url);
  if (!ref) return `the URL is not an Azure DevOps Git URL; provider azure needs ${expectedRepoUrl(t)}`;
  if (!/^https:\/\//i.test(url.trim()))
    return `the URL is an SSH URL; provider azure works only over HTTPS (${expectedRepoUrl(t)})`;
  if (!/^https:\/\/([^@/]+@)?dev\.azure\.com\//i.test(url.trim()))
    return `the URL uses the legacy visualstudio.com host; provider azure needs ${expectedRepoUrl(t)}`;
  const org = organizationName(t.organizationUrl);
  const want = {
    organization: org ?? '',
    project: canonicalSegment(t.project),
    repository: canonicalSegment(t.repository),
  };
  if (!org || !sameRepository(ref, want)) {
    return `the URL points at ${ref.organization}/${ref.project}/${ref.repository}, not at ${org}/${want.project}/${want.repository} (the repository this run checks)`;
  }
  const canonical = azureDevOpsHttpsUrl(ref);
  if (url.trim() !== canonical)
    return `the URL is not in the canonical form ${canonical} (no .git suffix, user info, port or trailing slash)`;
  return undefined;
}

function gitRepositoryCheck(g: GitRepositoryFacts | null, error: string | undefined, t: VerifyTarget): CheckResult {
  const fc = fixContext(t);
  const base = {
    id: 'cluster.git-repository',
    group: 'cluster' as const,
    title: `GitRepository ${t.fluxNamespace}/${t.gitRepositoryName}`,
  };
  if (!g)
    return {
      ...base,
      status: 'fail',
      evidence: [error ?? 'not found'],
      cause: 'the GitRepository does not exist',
      fix: `check the gitRepositoryName / fluxNamespace inputs (kubectl -n ${t.fluxNamespace} get gitrepositories)`,
    };
  const evidence = [
    `apiVersion ${g.apiVersion}`,
    `url ${g.url}`,
    `provider ${g.provider ?? '(unset = generic)'}`,
    `secretRef ${g.secretRefName ?? '(none)'}`,
  ];
  if (g.serviceAccountName) evidence.push(`serviceAccountName ${g.serviceAccountName}`);
  const problems: string[] = [];
  const fixes: string[] = [];
  if (!g.apiVersion.endsWith('/v1')) {
    problems.push(
      `only ${g.apiVersion} is served; spec.provider exists only in source.toolkit.fluxcd.io/v1 (Flux 2.4+)`,
    );
    fixes.push('upgrade Flux to 2.4+');
  }
  if (g.provider !== 'azure') {
    problems.push(
      `spec.provider is ${g.provider ?? 'unset'}, not azure, so source-controller does not use workload identity`,
    );
    fixes.push('set spec.provider: azure');
  }
  if (g.secretRefName) {
    const keys = g.secretKeys;
    if (keys) evidence.push(`secret ${g.secretRefName} keys: ${keys.join(', ') || '(none)'}`);
    const basic = !keys || keys.includes('password') || keys.includes('username');
    problems.push(
      basic
        ? `spec.secretRef (${g.secretRefName}) is still set${keys ? ' and holds a username/password (PAT)' : ''}: with provider azure source-controller fails with "basic auth and bearer token cannot be set at the same time"`
        : `spec.secretRef (${g.secretRefName}) is still set: its SSH key is not used over HTTPS, but the old credential stays in play (and a PAT there would fail with "basic auth and bearer token cannot be set at the same time")`,
    );
    fixes.push('remove spec.secretRef');
  }
  const urlProblem = repoUrlProblem(g.url, t);
  if (urlProblem) {
    problems.push(urlProblem);
    fixes.push(`set spec.url: ${expectedRepoUrl(t)} (or correct the organizationUrl/project/repository inputs)`);
  }
  if (problems.length)
    return {
      ...base,
      status: 'fail',
      evidence,
      cause: problems.join('; '),
      fix: fixGitRepository(fc, fixes.join(', ')),
    };
  return { ...base, status: 'pass', evidence };
}

export function featureGates(args: string[]): Record<string, boolean> {
  const gates: Record<string, boolean> = {};
  for (let i = 0; i < args.length; i++) {
    let v: string | undefined;
    if (args[i].startsWith('--feature-gates=')) v = args[i].slice('--feature-gates='.length);
    else if (args[i] === '--feature-gates') v = args[i + 1];
    for (const kv of (v ?? '').split(',').filter(Boolean)) {
      const [k, val] = kv.split('=');
      gates[k.trim()] = (val ?? 'true').trim().toLowerCase() === 'true';
    }
  }
  return gates;
}

function objectLevelCheck(f: ClusterFacts, t: VerifyTarget): CheckResult {
  const base = {
    id: 'cluster.object-level-identity',
    group: 'cluster' as const,
    title: 'Workload identity level consistent',
  };
  const sa = f.gitRepository?.serviceAccountName;
  if (!sa)
    return {
      ...base,
      status: 'pass',
      evidence: ['controller-level workload identity (no spec.serviceAccountName), as recommended on AKS'],
    };
  const args = f.sourceController?.containers.flatMap((c) => c.args) ?? [];
  const gate = featureGates(args).ObjectLevelWorkloadIdentity === true;
  const evidence = [
    `spec.serviceAccountName: ${sa}`,
    `source-controller --feature-gates ObjectLevelWorkloadIdentity: ${gate}`,
  ];
  if (!gate) {
    return {
      ...base,
      status: 'fail',
      evidence,
      cause:
        'spec.serviceAccountName is set but the ObjectLevelWorkloadIdentity feature gate is off: the GitRepository goes Stalled with FeatureGateDisabled',
      fix: fixGitRepository(
        fixContext(t),
        'remove spec.serviceAccountName (controller-level identity), or enable --feature-gates=ObjectLevelWorkloadIdentity=true on source-controller',
      ),
    };
  }
  return {
    ...base,
    status: 'warn',
    evidence,
    cause:
      'object-level workload identity works on AKS today but is flagged unstable as AKS hardens token exchange (fluxcd/flux2#5359); the federated credential must then name that ServiceAccount',
    fix: `prefer controller-level identity: remove spec.serviceAccountName from ${t.gitRepositoryName}`,
  };
}
