/** pipeline/inputs.ts: each input type; every bad value names the input (label and name) and the fix. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  InputError,
  MemoryPlatform,
  PipelineVariables,
  readBool,
  readConnection,
  readEnum,
  readGuid,
  readInt,
  readList,
  readMode,
  readString,
  readUrl,
} from '../../tasks/common/pipeline';

const p = (inputs: Record<string, string>, variables: Record<string, string> = {}, endpoints = {}) =>
  new MemoryPlatform({ inputs, variables, endpoints });

/** Asserts the call throws an InputError whose message names the input and carries the fix. */
function rejects(fn: () => unknown, name: string, label: string, fix: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`Input '${label}' (${name}): `), e.message);
    assert.match(e.message, /\. Fix: /);
    assert.match(e.message, fix);
    return true;
  });
}

const NAME = { name: 'clusterName', label: 'AKS cluster name' };

test('string: required, default, default from a pipeline variable, pattern, length', () => {
  assert.equal(readString(p({ clusterName: '  aks-prod ' }), { ...NAME, required: true }), 'aks-prod');
  assert.equal(readString(p({}), { ...NAME }), undefined);
  assert.equal(readString(p({}), { ...NAME, default: 'aks' }), 'aks');
  rejects(
    () => readString(p({ clusterName: '   ' }), { ...NAME, required: true }),
    'clusterName',
    'AKS cluster name',
    /a value is required but none was given\. Fix: set clusterName/,
  );

  const org = {
    name: 'organizationUrl',
    label: 'Organization URL',
    defaultFromVariable: PipelineVariables.collectionUri,
  };
  assert.equal(
    readString(p({}, { 'System.CollectionUri': 'https://dev.azure.com/contoso/' }), { ...org, required: true }),
    'https://dev.azure.com/contoso/',
  );
  assert.equal(
    readString(p({}, { SYSTEM_COLLECTIONURI: 'https://dev.azure.com/x/' }), { ...org, required: true }),
    'https://dev.azure.com/x/',
    'env-style names work too',
  );
  assert.equal(
    readString(
      p({ organizationUrl: 'https://dev.azure.com/y' }, { 'System.CollectionUri': 'https://dev.azure.com/x/' }),
      org,
    ),
    'https://dev.azure.com/y',
    'the input wins',
  );
  rejects(
    () => readString(p({}), { ...org, required: true }),
    'organizationUrl',
    'Organization URL',
    /no value was given and the pipeline variable System\.CollectionUri is not set/,
  );

  const pattern = { ...NAME, pattern: /^[a-z0-9][a-z0-9_-]{0,62}$/i, patternHint: "1-63 letters, digits, '-' or '_'" };
  assert.equal(readString(p({ clusterName: 'aks_1' }), pattern), 'aks_1');
  rejects(
    () => readString(p({ clusterName: 'aks prod!' }), pattern),
    'clusterName',
    'AKS cluster name',
    /"aks prod!" is not valid\. Fix: use 1-63 letters, digits, '-' or '_'/,
  );
  rejects(
    () => readString(p({ clusterName: 'x'.repeat(70) }), { ...NAME, maxLength: 63 }),
    'clusterName',
    'AKS cluster name',
    /70 characters long.*Fix: shorten it to at most 63/,
  );
});

test('bool', () => {
  const spec = { name: 'createPullRequest', label: 'Create a pull request' };
  assert.equal(readBool(p({ createPullRequest: 'TRUE' }), spec), true);
  assert.equal(readBool(p({ createPullRequest: 'false' }), spec), false);
  assert.equal(readBool(p({}), spec), false);
  assert.equal(readBool(p({}), { ...spec, default: true }), true);
  rejects(
    () => readBool(p({ createPullRequest: 'maybe' }), spec),
    'createPullRequest',
    'Create a pull request',
    /"maybe" is not a boolean\. Fix: use true or false/,
  );
});

test('enum: case-insensitive, canonical spelling, default, listed values in the fix', () => {
  const spec = { name: 'commitMode', label: 'Commit mode', values: ['none', 'push', 'pullRequest'] as const };
  assert.equal(readEnum(p({ commitMode: 'PULLREQUEST' }), spec), 'pullRequest');
  assert.equal(readEnum(p({}), { ...spec, default: 'none' }), 'none');
  assert.equal(readEnum(p({}), spec), undefined);
  rejects(
    () => readEnum(p({ commitMode: 'merge' }), spec),
    'commitMode',
    'Commit mode',
    /"merge" is not one of the allowed values\. Fix: use one of: none, push, pullRequest/,
  );
  rejects(
    () => readEnum(p({}), { ...spec, required: true }),
    'commitMode',
    'Commit mode',
    /Fix: set commitMode to one of none, push, pullRequest/,
  );
  assert.equal(readMode(p({ mode: 'Apply' })), 'apply');
  assert.equal(readMode(p({})), 'plan');
  rejects(() => readMode(p({ mode: 'destroy' })), 'mode', 'Mode', /use one of: plan, apply/);
});

test('GUID: normalised to lower case without braces', () => {
  const spec = { name: 'tenantId', label: 'Tenant ID', what: 'the Entra ID tenant id' };
  assert.equal(
    readGuid(p({ tenantId: '{72F988BF-86F1-41AF-91AB-2D7CD011DB47}' }), spec),
    '72f988bf-86f1-41af-91ab-2d7cd011db47',
  );
  rejects(
    () => readGuid(p({ tenantId: '72f988bf-86f1-41af-91ab' }), spec),
    'tenantId',
    'Tenant ID',
    /is not a GUID\. Fix: use the Entra ID tenant id in the form xxxxxxxx-xxxx/,
  );
  rejects(
    () => readGuid(p({}), { ...spec, required: true }),
    'tenantId',
    'Tenant ID',
    /a value is required but none was given/,
  );
});

test('URL: absolute, https by default, no credentials, trailing slash removed', () => {
  const spec = { name: 'organizationUrl', label: 'Organization URL', example: 'https://dev.azure.com/contoso' };
  assert.equal(
    readUrl(p({ organizationUrl: 'https://dev.azure.com/contoso/' }), spec),
    'https://dev.azure.com/contoso',
  );
  rejects(
    () => readUrl(p({ organizationUrl: 'dev.azure.com/contoso' }), spec),
    'organizationUrl',
    'Organization URL',
    /is not a URL\. Fix: use an absolute https URL, e.g\. https:\/\/dev\.azure\.com\/contoso/,
  );
  rejects(
    () => readUrl(p({ organizationUrl: 'http://dev.azure.com/contoso' }), spec),
    'organizationUrl',
    'Organization URL',
    /uses http\. Fix: use an absolute https URL/,
  );
  rejects(
    () => readUrl(p({ organizationUrl: 'https://me:pat@dev.azure.com/contoso' }), spec),
    'organizationUrl',
    'Organization URL',
    /contains credentials.*Fix: remove the user name and password/,
  );
  assert.equal(
    readUrl(p({ organizationUrl: 'http://tfs.local:8080/tfs/' }), { ...spec, protocols: ['http:', 'https:'] }),
    'http://tfs.local:8080/tfs',
  );
});

test('list: comma or newline separated, trimmed, de-duplicated, items validated', () => {
  const spec = {
    name: 'serviceAccounts',
    label: 'Flux service accounts',
    itemPattern: /^[a-z0-9-]+$/,
    itemHint: 'a Kubernetes name (lowercase letters, digits, -)',
  };
  assert.deepEqual(
    readList(
      p({
        serviceAccounts:
          'source-controller, image-automation-controller\n source-controller\r\n\n,kustomize-controller ',
      }),
      spec,
    ),
    ['source-controller', 'image-automation-controller', 'kustomize-controller'],
  );
  assert.deepEqual(readList(p({}), { ...spec, default: ['source-controller'] }), ['source-controller']);
  assert.deepEqual(readList(p({}), spec), []);
  rejects(
    () => readList(p({ serviceAccounts: 'source-controller, Image_Automation' }), spec),
    'serviceAccounts',
    'Flux service accounts',
    /the item "Image_Automation" is not valid\. Fix: make every item a Kubernetes name/,
  );
  rejects(
    () => readList(p({ serviceAccounts: ' , \n' }), { ...spec, required: true }),
    'serviceAccounts',
    'Flux service accounts',
    /a value is required but none was given/,
  );
  rejects(
    () => readList(p({ serviceAccounts: 'a,b,c' }), { ...spec, maxItems: 2 }),
    'serviceAccounts',
    'Flux service accounts',
    /3 items.*Fix: list at most 2 items/,
  );
});

test('integer with bounds', () => {
  const spec = { name: 'timeoutSeconds', label: 'Timeout', min: 10, max: 3600, unit: 'seconds' };
  assert.equal(readInt(p({ timeoutSeconds: '300' }), spec), 300);
  assert.equal(readInt(p({}), { ...spec, default: 600 }), 600);
  rejects(
    () => readInt(p({ timeoutSeconds: '5m' }), spec),
    'timeoutSeconds',
    'Timeout',
    /"5m" is not a whole number\. Fix: use a whole number from 10 to 3600 seconds/,
  );
  rejects(() => readInt(p({ timeoutSeconds: '1.5' }), spec), 'timeoutSeconds', 'Timeout', /not a whole number/);
  rejects(
    () => readInt(p({ timeoutSeconds: '5' }), spec),
    'timeoutSeconds',
    'Timeout',
    /5 is out of range\. Fix: use a whole number from 10 to 3600 seconds/,
  );
  rejects(() => readInt(p({ timeoutSeconds: '99999' }), spec), 'timeoutSeconds', 'Timeout', /out of range/);
});

test('connection: the endpoint must be available to the job', () => {
  const spec = { name: 'azureSubscription', label: 'Azure subscription', required: true as const };
  const withEp = p(
    { azureSubscription: 'sc-1' },
    {},
    { 'sc-1': { scheme: 'WorkloadIdentityFederation', auth: { tenantid: 't' } } },
  );
  assert.equal(readConnection(withEp, spec), 'sc-1');
  rejects(
    () => readConnection(p({ azureSubscription: 'azure-prod' }), spec),
    'azureSubscription',
    'Azure subscription',
    /the service connection "azure-prod" is not available to this job\. Fix: check the service connection name .* authorize this pipeline/,
  );
  rejects(
    () => readConnection(p({}), spec),
    'azureSubscription',
    'Azure subscription',
    /a value is required but none was given\. Fix: set azureSubscription to the name of an Azure Resource Manager service connection/,
  );
});
