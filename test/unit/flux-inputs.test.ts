/**
 * FluxManifestPatch's inputs as the agent passes them: defaults, and every bad value failing with
 * the input's name and the fix before anything is read or written.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryPlatform } from '../../tasks/common/pipeline/memory-platform';
import { readManifestPatchInputs } from '../../tasks/FluxManifestPatch/inputs';

const BASE = { fluxSystemPath: 'clusters/prod/flux-system', clientId: '6F1C2D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F' };
const VARS = {
  'Build.SourcesDirectory': '/agent/_work/1/s',
  'Build.SourceBranch': 'refs/heads/main',
  'System.CollectionUri': 'https://dev.azure.com/contoso/',
  'System.TeamProjectId': '6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c',
  'Build.Repository.ID': '5febef5a-833d-4e14-b9c0-14cb638f91e6',
  'Build.Repository.Provider': 'TfsGit',
};

function read(inputs: Record<string, string>, variables: Record<string, string> = VARS) {
  return readManifestPatchInputs(new MemoryPlatform({ inputs: { ...BASE, ...inputs }, variables }));
}

describe('FluxManifestPatch inputs', () => {
  test('defaults: the build checkout, both controllers, flux-system, Flux 2.4.0, no commit', () => {
    const i = read({});
    assert.equal(i.workingDirectory, '/agent/_work/1/s');
    assert.equal(i.clientId, '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f');
    assert.deepEqual(i.serviceAccounts, ['source-controller', 'image-automation-controller']);
    assert.equal(i.gitRepositoryName, 'flux-system');
    assert.deepEqual(i.minimumFluxVersion, { major: 2, minor: 4, patch: 0 });
    assert.equal(i.commitMode, 'none');
    assert.equal(i.targetBranch, 'refs/heads/main');
  });

  test('clientIds: a client id per cluster folder; clientId then optional', () => {
    const i = read({
      clientId: '',
      fluxSystemPath: 'clusters/*/flux-system',
      clientIds: 'aks-dev-weu=6F1C2D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F\naks-dev-neu: 0f1e2d3c-4b5a-4697-8877-665544332211',
    });
    assert.deepEqual(i.clientIds, {
      'aks-dev-weu': '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
      'aks-dev-neu': '0f1e2d3c-4b5a-4697-8877-665544332211',
    });
    assert.equal(i.clientId, '');
    assert.throws(() => read({ clientId: '' }), /\(clientId\)/, 'without clientIds, clientId is required');
    assert.throws(
      () => read({ clientIds: 'aks-dev-weu=nope' }),
      /\(clientIds\): the client id of 'aks-dev-weu' \('nope'\) is not a GUID/,
    );
    assert.throws(
      () => read({ clientIds: 'aks-dev-weu' }),
      /\(clientIds\): 'aks-dev-weu' is not <cluster>=<clientId>.*Fix: write one/,
    );
    assert.throws(
      () => read({ clientIds: `a1=${BASE.clientId}\na1=${BASE.clientId}` }),
      /\(clientIds\): 'a1' is listed twice/,
    );
  });

  test('commit modes take the build repository from the pipeline', () => {
    const i = read({ commitMode: 'pullRequest' });
    assert.equal(i.organizationUrl, 'https://dev.azure.com/contoso');
    assert.equal(i.project, VARS['System.TeamProjectId']);
    assert.equal(i.repository, VARS['Build.Repository.ID']);
  });

  for (const [inputs, pattern, variables] of [
    [{ clientId: 'not-a-guid' }, /Input 'Managed identity client id' \(clientId\): "not-a-guid" is not a GUID/],
    [{ clientId: '' }, /\(clientId\): .*required.*Fix: set clientId/],
    [{ tenantId: 'contoso.onmicrosoft.com' }, /\(tenantId\): "contoso\.onmicrosoft\.com" is not a GUID/],
    [{ fluxSystemPath: '' }, /\(fluxSystemPath\): .*required.*Fix: set fluxSystemPath/],
    [
      { serviceAccounts: 'source-controller, Image_Automation' },
      /\(serviceAccounts\): the item "Image_Automation" is not valid/,
    ],
    [
      { minimumFluxVersion: '2.3.0' },
      /\(minimumFluxVersion\): 2\.3\.0 is below 2\.4\.0, the first Flux with GitRepository provider: azure/,
    ],
    [{ minimumFluxVersion: 'latest' }, /\(minimumFluxVersion\): "latest" is not a version/],
    [
      { commitMode: 'merge' },
      /\(commitMode\): "merge" is not one of the allowed values\. Fix: use one of: none, push, pullRequest/,
    ],
    [{ commitMode: 'push', targetBranch: 'main..old' }, /\(targetBranch\): "main\.\.old" is not valid/],
    [{ commitMode: 'push', gitAuth: 'serviceConnection' }, /\(azureSubscription\): .*required/],
    [
      { commitMode: 'push' },
      /\(targetBranch\): refs\/pull\/7\/merge is not a branch to commit to .*Fix: set targetBranch to the branch Flux syncs from/,
      { ...VARS, 'Build.SourceBranch': 'refs/pull/7/merge' },
    ],
    [
      { commitMode: 'pullRequest', targetBranch: 'refs/tags/v1' },
      /\(targetBranch\): refs\/tags\/v1 is not a branch to commit to/,
    ],
    [
      { commitMode: 'push' },
      /\(targetBranch\): no branch was given and the pipeline variable Build\.SourceBranch is not set/,
      { ...VARS, 'Build.SourceBranch': '' },
    ],
    [
      { commitMode: 'push' },
      /the build repository is a GitHub repository, not an Azure Repos Git one/,
      { ...VARS, 'Build.Repository.Provider': 'GitHub' },
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
