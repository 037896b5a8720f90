/**
 * FluxOidcProvision's inputs as the agent passes them: defaults from the pipeline, and every bad
 * value failing with the input's name and the fix before any call is made.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryPlatform } from '../../tasks/common/pipeline/memory-platform';
import { readProvisionInputs } from '../../tasks/FluxOidcProvision/inputs';

const CONN = 'b7d1c0de-0000-4000-8000-000000000001';
const BASE = { azureSubscription: CONN, resourceGroup: 'rg-fleet', clusterName: 'aks-prod' };
const VARS = {
  'System.CollectionUri': 'https://dev.azure.com/contoso/',
  'System.TeamProject': 'platform',
  'Build.Repository.Name': 'fleet',
};
const ENDPOINTS = { [CONN]: { url: 'https://management.azure.com/', scheme: 'WorkloadIdentityFederation' } };

function read(inputs: Record<string, string>, variables: Record<string, string> = VARS) {
  return readProvisionInputs(new MemoryPlatform({ inputs: { ...BASE, ...inputs }, variables, endpoints: ENDPOINTS }));
}

describe('FluxOidcProvision inputs', () => {
  test("defaults: identity named after the cluster, both controllers, the pipeline's organization, project and repository", () => {
    const i = read({});
    assert.equal(i.identityName, 'flux-aks-prod');
    assert.equal(i.identityResourceGroup, 'rg-fleet');
    assert.equal(i.identityLocation, undefined);
    assert.deepEqual(i.serviceAccounts, ['source-controller', 'image-automation-controller']);
    assert.equal(i.organizationUrl, 'https://dev.azure.com/contoso');
    assert.equal(i.project, 'platform');
    assert.equal(i.repository, 'fleet');
    assert.equal(i.devopsConnectionInput, 'azureSubscription');
    assert.equal(i.permissionBits, 2 | 4, 'Read + Contribute');
    assert.equal(i.licenseType, 'express');
  });

  test('identityScope shared: one named identity for the clusters of an environment', () => {
    const i = read({ identityScope: 'shared', identityName: 'flux-dev', identityResourceGroup: 'rg-fleet-dev' });
    assert.equal(i.identityScope, 'shared');
    assert.equal(i.identityName, 'flux-dev');
    assert.equal(read({}).identityScope, 'cluster');
    assert.throws(
      () => read({ identityScope: 'shared' }),
      /\(identityName\): is empty, and identityScope is shared.*Fix: set identityName to the environment identity, e\.g\. flux-dev/,
    );
    assert.throws(
      () =>
        read({ identityScope: 'shared', identityName: 'flux-dev', federatedCredentialName: 'flux-{serviceAccount}' }),
      /\(federatedCredentialName\): 'flux-\{serviceAccount\}' has no \{clusterName\}, so the clusters sharing the identity 'flux-dev' would overwrite each other's credentials/,
    );
    assert.throws(() => read({ identityScope: 'environment' }), /\(identityScope\)/);
  });

  test('configureDevOps: false needs no organization, project or repository', () => {
    const i = read({ configureDevOps: 'false' }, {});
    assert.equal(i.configureDevOps, false);
    assert.equal(i.organizationUrl, undefined);
  });

  for (const [inputs, pattern, variables] of [
    [{ azureSubscription: '' }, /\(azureSubscription\): .*required.*Fix: set azureSubscription/],
    [
      { azureSubscription: 'not-authorized' },
      /\(azureSubscription\): the service connection "not-authorized" is not available to this job.*authorize this pipeline/,
    ],
    [
      { resourceGroup: 'rg.' },
      /Input 'Resource group' \(resourceGroup\): "rg\." is not valid\. Fix: use a resource group name/,
    ],
    [{ clusterName: '-aks' }, /\(clusterName\): "-aks" is not valid\. Fix: use 1-63 letters/],
    [{ identityName: 'id' }, /\(identityName\): "id" is not valid\. Fix: use 3-128 letters/],
    [
      { identityLocation: 'West Europe' },
      /\(identityLocation\): "West Europe" is not valid\. Fix: use an Azure region name such as westeurope/,
    ],
    [
      { fluxNamespace: 'Flux_System' },
      /\(fluxNamespace\): "Flux_System" is not valid\. Fix: use a Kubernetes namespace name/,
    ],
    [
      { serviceAccounts: 'source-controller, Image_Automation' },
      /\(serviceAccounts\): the item "Image_Automation" is not valid/,
    ],
    [{ serviceAccounts: ' , ' }, /\(serviceAccounts\): .*Fix: set serviceAccounts to one or more items/],
    [{ federatedCredentialName: 'flux-{sa}' }, /\(federatedCredentialName\): unknown placeholder \{sa\}/],
    [
      { federatedCredentialName: 'flux-{clusterName}' },
      /\(federatedCredentialName\): the pattern gives the same name 'flux-aks-prod' for 'source-controller' and 'image-automation-controller'/,
    ],
    [
      { clusterUpdateTimeoutMinutes: '0' },
      /\(clusterUpdateTimeoutMinutes\): 0 is out of range\. Fix: use a whole number from 1 to 180 minutes/,
    ],
    [
      { organizationUrl: 'http://dev.azure.com/contoso' },
      /\(organizationUrl\): "http:\/\/dev\.azure\.com\/contoso" uses http/,
    ],
    [
      {},
      /\(project\): no value was given and the pipeline variable System\.TeamProject is not set/,
      { 'System.CollectionUri': 'https://dev.azure.com/contoso/' },
    ],
    [{ teamName: 'Team: Flux' }, /\(teamName\): "Team: Flux" is not valid/],
    [{ permissions: 'read, admin' }, /\(permissions\): unknown permission 'admin'/],
    [{ permissions: 'contribute' }, /\(permissions\): Flux cannot clone without 'read'/],
    [
      { licenseType: 'stakeholder' },
      /\(licenseType\): Stakeholder access cannot read Git repositories.*Fix: use express/,
    ],
  ] as const) {
    test(`rejects ${JSON.stringify(inputs)}`, () => {
      assert.throws(
        () => read(inputs as Record<string, string>, (variables ?? VARS) as Record<string, string>),
        pattern,
      );
    });
  }
});
