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

test('a fleet: clusters as <name> or <resourceGroup>/<name>, each with its own identity unless one is named', () => {
  const i = readVerifyInputs(
    platform({ clusterName: '', clusters: 'aks-dev-weu\nrg-fleet-staging/aks-staging-eus', maxParallel: '4' }),
  );
  assert.deepEqual(i.fleet?.spec.clusters, [
    { resourceGroup: 'rg-fleet', name: 'aks-dev-weu' },
    { resourceGroup: 'rg-fleet-staging', name: 'aks-staging-eus' },
  ]);
  assert.equal(i.fleet?.maxParallel, 4);
  assert.equal(i.fleet?.identityName, undefined, 'default: flux-<cluster> per cluster');
  const shared = readVerifyInputs(platform({ clusterName: '', clusters: 'aks-a,aks-b', identityName: 'flux-dev' }));
  assert.equal(shared.fleet?.identityName, 'flux-dev');
  assert.equal(readVerifyInputs(platform({})).fleet, undefined, 'one cluster: no fleet');
});

test('a fleet by pattern: the resource groups to look in (default resourceGroup), maxParallel 1-50', () => {
  const i = readVerifyInputs(
    platform({ clusterName: '', clusterPattern: 'aks-staging-*', resourceGroups: 'rg-a, rg-b' }),
  );
  assert.equal(i.fleet?.spec.pattern, 'aks-staging-*');
  assert.deepEqual(i.fleet?.spec.resourceGroups, ['rg-a', 'rg-b']);
  assert.equal(i.fleet?.maxParallel, 10);
  assert.deepEqual(readVerifyInputs(platform({ clusterName: '', clusterPattern: '*' })).fleet?.spec.resourceGroups, [
    'rg-fleet',
  ]);
  assert.throws(
    () => readVerifyInputs(platform({ clusterPattern: 'aks-*' })),
    /\(clusterPattern\): is set together with clusterName.*Fix: give one of clusterName/,
  );
  assert.throws(
    () => readVerifyInputs(platform({ clusterName: '', resourceGroup: '', clusterPattern: 'aks-*' })),
    /\(resourceGroups\): is empty, and clusterPattern needs resource groups/,
  );
  assert.throws(
    () => readVerifyInputs(platform({ clusterName: '', clusters: 'a/b/c' })),
    /\(clusters\): 'a\/b\/c' is not a cluster/,
  );
  assert.throws(
    () => readVerifyInputs(platform({ clusterName: '', clusterPattern: '*', maxParallel: '0' })),
    /\(maxParallel\)/,
  );
  assert.throws(() => readVerifyInputs(platform({ clusterName: '' })), /\(clusterName\): is required \(or clusters/);
});
