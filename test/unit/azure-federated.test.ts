import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCredentialBudget,
  clustersOnIdentity,
  desiredCredentials,
  expandCredentialName,
  planCredentials,
  subjectFor,
  TOKEN_EXCHANGE_AUDIENCE,
  type Credential,
} from '../../tasks/common/azure/federated';

const ISSUER =
  'https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/3f2b0c1e-6a4d-4f0e-9f5e-2c7d8a1b9e40/';
const SAS = ['source-controller', 'image-automation-controller'];

function desired(issuer: string | undefined) {
  const r = desiredCredentials({
    pattern: 'flux-{serviceAccount}-{clusterName}',
    serviceAccounts: SAS,
    clusterName: 'aks-prod',
    namespace: 'flux-system',
    issuer,
  });
  if ('error' in r) throw new Error(r.error);
  return r.credentials;
}

function cred(name: string, over: Partial<Credential> = {}): Credential {
  return {
    name,
    issuer: ISSUER,
    subject: subjectFor('flux-system', 'source-controller'),
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
    ...over,
  };
}

describe('federated credential names', () => {
  it('expands every placeholder', () => {
    assert.deepEqual(
      expandCredentialName('{namespace}-{serviceAccount}-{clusterName}', {
        serviceAccount: 'source-controller',
        clusterName: 'aks-prod',
        namespace: 'flux-system',
      }),
      { name: 'flux-system-source-controller-aks-prod' },
    );
  });

  it('names unknown placeholders', () => {
    const r = expandCredentialName('flux-{sa}-{cluster}', { serviceAccount: 'x', clusterName: 'y', namespace: 'z' });
    assert.ok('error' in r);
    assert.match(r.error, /\{sa\}, \{cluster\}/);
  });

  it('refuses names Entra refuses', () => {
    for (const pattern of ['-{serviceAccount}', 'a.{serviceAccount}', 'x{serviceAccount}'.padEnd(140, 'y')]) {
      const r = expandCredentialName(pattern, { serviceAccount: 'sc', clusterName: 'c', namespace: 'n' });
      assert.ok('error' in r, pattern);
    }
  });

  it('refuses a pattern that gives every service account the same name', () => {
    const r = desiredCredentials({
      pattern: 'flux-{clusterName}',
      serviceAccounts: SAS,
      clusterName: 'aks-prod',
      namespace: 'flux-system',
      issuer: ISSUER,
    });
    assert.ok('error' in r);
    assert.match(r.error, /same name 'flux-aks-prod'.*include \{serviceAccount\}/);
  });

  it('builds one credential per service account with the exact subject', () => {
    assert.deepEqual(
      desired(ISSUER).map((d) => [d.name, d.subject]),
      [
        ['flux-source-controller-aks-prod', 'system:serviceaccount:flux-system:source-controller'],
        ['flux-image-automation-controller-aks-prod', 'system:serviceaccount:flux-system:image-automation-controller'],
      ],
    );
  });
});

describe('planCredentials', () => {
  it('creates what is missing', () => {
    const plans = planCredentials([], desired(ISSUER));
    assert.deepEqual(
      plans.map((p) => [p.action, p.name]),
      [
        ['create', 'flux-source-controller-aks-prod'],
        ['create', 'flux-image-automation-controller-aks-prod'],
      ],
    );
    assert.deepEqual(plans[0].changes.find((c) => c.field === 'issuer')?.to, ISSUER);
  });

  it('shows the issuer as known after apply while the cluster has none', () => {
    const [p] = planCredentials([], desired(undefined));
    assert.equal(p.changes.find((c) => c.field === 'issuer')?.afterApply, true);
  });

  it('counts the same issuer and subject under another name as present', () => {
    const [p] = planCredentials([cred('hand-made')], desired(ISSUER));
    assert.equal(p.action, 'unchanged');
    assert.equal(p.name, 'hand-made');
    assert.match(p.note ?? '', /present under the name 'hand-made'/);
  });

  it('compares the issuer byte for byte (trailing slash)', () => {
    const [p] = planCredentials(
      [cred('flux-source-controller-aks-prod', { issuer: ISSUER.slice(0, -1) })],
      desired(ISSUER),
    );
    assert.equal(p.action, 'update');
    assert.deepEqual(p.changes, [{ field: 'issuer', from: ISSUER.slice(0, -1), to: ISSUER }]);
    assert.match(p.note ?? '', /wrong issuer/);
  });

  it('updates the right name with the wrong subject and audience, listing both', () => {
    const [p] = planCredentials(
      [
        cred('flux-source-controller-aks-prod', {
          subject: 'system:serviceaccount:flux-system:Source-Controller',
          audiences: ['api://other'],
        }),
      ],
      desired(ISSUER),
    );
    assert.equal(p.action, 'update');
    assert.deepEqual(
      p.changes.map((c) => c.field),
      ['subject', 'audiences'],
    );
  });

  it('fixes the audience of a matching credential in place', () => {
    const [p] = planCredentials([cred('other', { audiences: ['api://AzureADTokenExchange', 'x'] })], desired(ISSUER));
    assert.equal(p.action, 'update');
    assert.equal(p.name, 'other');
  });

  it('leaves converged credentials unchanged', () => {
    const existing = desired(ISSUER).map((d) => cred(d.name, { subject: d.subject }));
    assert.deepEqual(
      planCredentials(existing, desired(ISSUER)).map((p) => p.action),
      ['unchanged', 'unchanged'],
    );
  });
});

describe('checkCredentialBudget', () => {
  const creds = (clusters: number, per = 2): Credential[] =>
    Array.from({ length: clusters * per }, (_, i) => ({
      name: `flux-sa${i % per}-aks-${Math.floor(i / per)}`,
      issuer: `https://issuer.example/${Math.floor(i / per)}/`,
      subject: `system:serviceaccount:flux-system:sa${i % per}`,
      audiences: ['api://AzureADTokenExchange'],
    }));
  const base = { identityName: 'flux-aks-prod', scope: 'cluster' as const, clusterName: 'aks-prod', perCluster: 2 };

  it('passes up to 20', () => {
    assert.equal(checkCredentialBudget({ ...base, existing: creds(9), newNames: ['a', 'b'] }), undefined);
  });

  it('fails 19 + 2 with the counts, the names and what to do', () => {
    const err = checkCredentialBudget({ ...base, existing: creds(19, 1), newNames: ['a', 'b'] });
    assert.ok(err);
    assert.equal(err.code, 'FederatedCredentialBudget');
    assert.match(
      err.message,
      /has 19 federated credentials and the cluster 'aks-prod' needs 2 more \(a, b\).*at most 20 \(1 free\)/,
    );
    assert.match(err.fix ?? '', /identityName/);
  });

  it('on a shared identity: counts the clusters that share it and says how many more fit', () => {
    const err = checkCredentialBudget({
      ...base,
      scope: 'shared',
      identityName: 'flux-dev',
      clusterName: 'aks-dev-11',
      existing: creds(9).concat(creds(1, 1).map((c) => ({ ...c, issuer: 'https://issuer.example/x/' }))),
      newNames: ['flux-a-aks-dev-11', 'flux-b-aks-dev-11'],
    });
    assert.ok(err);
    assert.match(err.message, /'flux-dev' has 19 federated credentials \(used by 10 clusters\)/);
    assert.match(
      err.message,
      /room for 0 more clusters with 2 Flux service accounts: 10 clusters per identity at most/,
    );
    assert.match(err.fix ?? '', /identityScope: cluster/);
    assert.match(err.fix ?? '', /flux-dev-2/);
    assert.equal(clustersOnIdentity(creds(7)), 7);
  });
});
