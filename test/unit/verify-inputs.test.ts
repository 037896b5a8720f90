/**
 * FluxOidcVerify's inputs: defaults (the FluxOidcProvision names, the pipeline's organization,
 * project and repository) and clear errors for bad values, before any network call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPlatform } from '../../tasks/common/pipeline';
import { readVerifyInputs } from '../../tasks/FluxOidcVerify/inputs';

const ARM = {
  url: 'https://management.azure.com/',
  scheme: 'WorkloadIdentityFederation',
  auth: { serviceprincipalid: 'c', tenantid: 't' },
  data: { subscriptionId: 's' },
};

function platform(inputs: Record<string, string>): MemoryPlatform {
  return new MemoryPlatform({
    inputs: { azureSubscription: 'arm', resourceGroup: 'rg-fleet', clusterName: 'aks-prod', ...inputs },
    variables: {
      'System.CollectionUri': 'https://dev.azure.com/contoso/',
      'System.TeamProject': 'platform',
      'Build.Repository.Name': 'fleet',
    },
    endpoints: { arm: ARM, k8s: { url: 'https://k8s:6443', scheme: 'Token', auth: { apiToken: 'eA==' } } },
  });
}

test("defaults: the identity FluxOidcProvision creates, the pipeline's repository, every check group", () => {
  const i = readVerifyInputs(platform({}));
  assert.equal(i.target.identityName, 'flux-aks-prod');
  assert.equal(i.target.identityResourceGroup, 'rg-fleet');
  assert.equal(i.target.organizationUrl, 'https://dev.azure.com/contoso');
  assert.equal(i.target.project, 'platform');
  assert.equal(i.target.repository, 'fleet');
  assert.deepEqual(i.target.serviceAccounts, ['source-controller', 'image-automation-controller']);
  assert.deepEqual([...i.groups], ['azure', 'devops', 'cluster', 'token']);
  assert.equal(i.reconcile, true);
  assert.equal(i.timeoutSeconds, 300);
  assert.equal(i.failOn, 'error');
  assert.equal(i.clusterCredentials, 'user');
  assert.equal(i.kubernetesServiceConnection, undefined);
  assert.equal(i.devopsConnectionInput, 'azureSubscription');
});

test('a clientId alone finds the identity by client id (no default name)', () => {
  const i = readVerifyInputs(
    platform({ clientId: '{AAAAAAAA-0000-0000-0000-000000000001}', checks: 'Cluster, token' }),
  );
  assert.equal(i.target.clientId, 'aaaaaaaa-0000-0000-0000-000000000001');
  assert.equal(i.target.identityName, undefined);
  assert.deepEqual([...i.groups], ['cluster', 'token']);
});

const bad: [string, Record<string, string>, RegExp][] = [
  ['clientId not a GUID', { clientId: 'flux-aks-prod' }, /clientId.*not a GUID/],
  [
    'unknown check group',
    { checks: 'azure,network' },
    /checks.*unknown check group 'network'.*azure, devops, cluster, token/,
  ],
  ['timeout out of range', { timeoutSeconds: '5' }, /timeoutSeconds.*out of range.*30 to 3600/],
  ['failOn', { failOn: 'never' }, /failOn.*error, warning/],
  ['service account name', { serviceAccounts: 'Source_Controller' }, /serviceAccounts.*Source_Controller/],
  [
    'unknown Kubernetes connection',
    { kubernetesServiceConnection: 'nope' },
    /kubernetesServiceConnection.*not available to this job/,
  ],
  ['organization URL', { organizationUrl: 'dev.azure.com/contoso' }, /organizationUrl.*not a URL/],
  ['cluster credentials', { clusterCredentials: 'root' }, /clusterCredentials.*user, admin/],
];

for (const [name, inputs, message] of bad) {
  test(`bad input is refused with the input's name and the fix: ${name}`, () => {
    assert.throws(
      () => readVerifyInputs(platform(inputs)),
      (e: Error) => e.name === 'InputError' && message.test(e.message) && /Fix: /.test(e.message),
    );
  });
}
