/**
 * Verify's conclusions held against each other and the cluster (tasks/common/verify/consistency.ts),
 * from plain facts: over a table of failure scenarios no fix changes a resource that a passed check
 * or the cluster shows correct, and URLs FluxManifestPatch writes are URLs Verify accepts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { azureChecks } from '../../tasks/common/verify/azure-checks';
import { repoUrlProblem } from '../../tasks/common/verify/cluster-checks';
import { makeConsistent } from '../../tasks/common/verify/consistency';
import { explainFailure } from '../../tasks/common/verify/causes';
import type { AzureFacts, CheckResult, VerifyTarget } from '../../tasks/common/verify/model';
import type { FluxReality } from '../../tasks/common/kube/flux-reality';
import { toAzureDevOpsHttpsUrl } from '../../tasks/common/flux/url';

const ISSUER = 'https://oidc.prod-aks.azure.com/tenant/issuer/';
const SAS = ['source-controller', 'image-automation-controller'];

function target(over: Partial<VerifyTarget> = {}): VerifyTarget {
  return {
    subscriptionId: 'sub',
    resourceGroup: 'rg-fleet',
    clusterName: 'aks-prod',
    identityName: 'flux-aks-prod',
    identityResourceGroup: 'rg-fleet',
    fluxNamespace: 'flux-system',
    serviceAccounts: [...SAS],
    gitRepositoryName: 'flux-system',
    kustomizationName: 'flux-system',
    organizationUrl: 'https://dev.azure.com/contoso',
    project: 'platform',
    repository: 'fleet',
    teamName: 'AKS Managed Identities Team',
    ...over,
  };
}

function azure(subjectNs = 'flux-system'): AzureFacts {
  return {
    cluster: { id: '/aks', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true },
    identity: {
      id: '/x',
      name: 'flux-aks-prod',
      resourceGroup: 'rg-fleet',
      clientId: 'c',
      principalId: 'p',
      tenantId: 't',
    },
    identityLookup: 'by name',
    federatedCredentials: SAS.map((sa) => ({
      name: `flux-aks-prod-${sa}`,
      issuer: ISSUER,
      subject: `system:serviceaccount:${subjectNs}:${sa}`,
      audiences: ['api://AzureADTokenExchange'],
    })),
  };
}

function reality(ns = 'flux-system'): FluxReality {
  return {
    namespace: 'flux-system',
    serviceAccounts: ns === 'flux-system' ? ['default', ...SAS] : ['default'],
    controllers: SAS.map((sa) => ({ namespace: ns, name: sa, serviceAccount: sa })),
    problems: [],
  };
}

const scenarios: { name: string; t: VerifyTarget; facts: AzureFacts; reality?: FluxReality; extra?: CheckResult[] }[] =
  [
    {
      name: 'mistyped service account input',
      t: target({ serviceAccounts: ['source-controler'] }),
      facts: azure(),
      reality: reality(),
    },
    {
      name: 'mistyped service account, cluster not readable',
      t: target({ serviceAccounts: ['source-controler'] }),
      facts: azure(),
    },
    {
      name: 'fluxNamespace input where Flux does not run',
      t: target({ fluxNamespace: 'flux' }),
      facts: azure(),
      reality: { ...reality(), namespace: 'flux' },
    },
    { name: 'Flux moved to another namespace', t: target(), facts: azure(), reality: reality('gitops') },
    {
      name: 'credential subject typo',
      t: target(),
      facts: (() => {
        const f = azure();
        f.federatedCredentials[0]!.subject += 'x';
        return f;
      })(),
      reality: reality(),
    },
    {
      name: 'TF401019 while licence and Read passed',
      t: target(),
      facts: azure(),
      reality: reality(),
      extra: [
        { id: 'devops.licence', group: 'devops', title: 'Licence', status: 'pass', evidence: [] },
        { id: 'devops.read', group: 'devops', title: 'Read', status: 'pass', evidence: [] },
      ],
    },
  ];

function reconcileFailure(t: VerifyTarget): CheckResult {
  const why = explainFailure(
    'TF401019: The Git repository with name or identifier x does not exist or you do not have permissions',
    { ...t },
  );
  return {
    id: 'reconcile.git-repository',
    group: 'reconcile',
    title: 'GitRepository Ready',
    status: 'fail',
    evidence: [],
    cause: why!.cause,
    fix: why!.fix,
    ...(why!.implicates ? { implicates: why!.implicates } : {}),
    ...(why!.fixByCheck ? { fixByCheck: why!.fixByCheck } : {}),
  };
}

describe('no fix makes things worse', () => {
  for (const s of scenarios) {
    test(s.name, () => {
      const checks = [...azureChecks(s.facts, s.t), ...(s.extra ?? []), ...(s.extra ? [reconcileFailure(s.t)] : [])];
      const out = makeConsistent(checks, s.t, {
        ...(s.reality ? { reality: s.reality } : {}),
        federatedCredentials: s.facts.federatedCredentials,
      });
      const confirmed = new Set(out.filter((c) => c.status === 'pass').flatMap((c) => c.confirms ?? []));
      // The cluster confirms the credentials of the ServiceAccounts its controllers run as.
      for (const ctl of s.reality?.controllers ?? [])
        for (const f of s.facts.federatedCredentials)
          if (f.subject === `system:serviceaccount:${ctl.namespace}:${ctl.serviceAccount}`)
            confirmed.add(`fic:${f.name}`);
      for (const c of out.filter((x) => x.status === 'fail' || x.status === 'warn')) {
        for (const r of c.fixChanges ?? []) assert.ok(!confirmed.has(r), `${c.id} changes ${r}, shown correct`);
        for (const name of [...confirmed].map((r) => r.replace(/^fic:/, '')))
          assert.doesNotMatch(c.fix ?? '', new RegExp(`federated-credential update --name ${name}\\b`), c.id);
        for (const passed of out.filter((x) => x.status === 'pass' && (c.implicates ?? []).includes(x.id)))
          assert.match(c.cause ?? '', new RegExp(`'${passed.title}'`), `${c.id} says ${passed.id} passed`);
      }
    });
  }

  test('the wrong input is named: serviceAccounts with a guess, fluxNamespace with the real namespace', () => {
    const sa = makeConsistent(
      azureChecks(azure(), target({ serviceAccounts: ['source-controler'] })),
      target({ serviceAccounts: ['source-controler'] }),
      { reality: reality(), federatedCredentials: azure().federatedCredentials },
    );
    assert.match(
      sa.find((c) => c.id === 'cluster.service-account-input:source-controler')!.fix!,
      /did you mean 'source-controller'/,
    );
    const ns = makeConsistent(azureChecks(azure(), target()), target(), {
      reality: reality('gitops'),
      federatedCredentials: azure().federatedCredentials,
    });
    assert.match(ns.find((c) => c.id === 'cluster.flux-namespace')!.fix!, /set fluxNamespace: gitops/);
  });

  test('a pipeline on another branch than the synced one: the fix targets the synced branch', () => {
    const t = target({ pipelineBranch: 'refs/heads/feature' });
    const failing: CheckResult = {
      id: 'cluster.service-account:source-controller',
      group: 'cluster',
      title: 'SA',
      status: 'fail',
      evidence: [],
      cause: 'no annotation',
      fix: 'run FluxManifestPatch (clientId c), let kustomize-controller apply it',
    };
    const [c] = makeConsistent([failing], t, {
      gitRepository: { apiVersion: 'source.toolkit.fluxcd.io/v1', url: '', branch: 'prod' },
    });
    assert.match(c!.cause!, /Flux syncs branch prod .* not this pipeline's branch feature/);
    assert.match(c!.fix!, /run FluxManifestPatch \(clientId c\) with targetBranch: prod/);
  });
});

describe('what FluxManifestPatch writes, FluxOidcVerify accepts', () => {
  const forms = [
    'ssh://git@ssh.dev.azure.com/v3/contoso/platform/fleet.git',
    'git@ssh.dev.azure.com:v3/contoso/platform/fleet.git',
    'contoso@vs-ssh.visualstudio.com:v3/contoso/platform/fleet.git',
    'https://contoso@dev.azure.com/contoso/platform/_git/fleet.git',
    'https://contoso.visualstudio.com/DefaultCollection/platform/_git/fleet/',
  ];
  for (const form of forms)
    test(form, () => {
      assert.notEqual(
        repoUrlProblem(form, target()),
        undefined,
        'the bootstrap form itself is not what provider azure needs',
      );
      assert.equal(repoUrlProblem(toAzureDevOpsHttpsUrl(form)!, target()), undefined);
    });
  test('names with spaces and non-ASCII', () => {
    const t = target({ project: 'Plattform Öps', repository: 'flux fleet ü' });
    const written = toAzureDevOpsHttpsUrl(
      'git@ssh.dev.azure.com:v3/contoso/Plattform%20%C3%96ps/flux%20fleet%20%C3%BC.git',
    )!;
    assert.equal(repoUrlProblem(written, t), undefined);
    assert.match(
      repoUrlProblem('https://dev.azure.com/contoso/Plattform%2520%C3%96ps/_git/flux%20fleet%20%C3%BC', t)!,
      /points at/,
    );
  });
});
