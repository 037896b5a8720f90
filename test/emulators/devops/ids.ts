/**
 * Fixed ids of the Azure DevOps side of the built-in scenarios that names.ts does not carry
 * (storage keys, group ids, the pipeline run). The managed identity's Entra ids (CONVERGED_IDENTITY)
 * must be the ones the azure section gives `flux-aks-prod` in the `converged` scenario.
 */

/** The person who created the organization (Project Collection Administrator, Basic). */
export const ORG_OWNER = {
  storageKey: 'e90714ab-171d-4ffb-8c13-a2dcb0add9e0',
  /** Entra object id. */
  originId: 'b3090ba2-f09e-46be-b0f4-ccb317b2b4ba',
  principalName: 'admin@contoso.onmicrosoft.com',
  displayName: 'Contoso Admin',
} as const;

/** Azure DevOps storage key of the `azure-prod` service connection's service principal. */
export const SC_PRINCIPAL_STORAGE_KEY = '561f8710-ed77-4af3-b857-bfdde92b66fd';

/** The project build service identity (`platform Build Service (contoso)`): System.AccessToken's identity. */
export const BUILD_SERVICE_ID = '40b6e08b-87f2-4c35-8b68-ffab3270174f';

/** Group (and team) storage keys. */
export const GROUP_IDS = {
  projectCollectionAdministrators: 'ac21dc90-76ce-47ca-bbf4-e878659f0d70',
  projectCollectionValidUsers: '4f4b3c2a-9d3e-4a54-8a7c-8e0f1d2b3c4d',
  projectCollectionBuildServiceAccounts: '4589ad80-ff26-4129-badd-3b35d104dd73',
  projectAdministrators: '0ffbca02-1f51-4ba9-a4e6-930c17e3894e',
  contributors: '26a2faaa-3104-461f-af2f-f975afddf258',
  readers: '94516984-5cd6-494b-93c2-0b2a346c5010',
  projectValidUsers: '7d0e9c4b-2a61-4f0e-b5d3-6c1a9e8f7b20',
  buildAdministrators: '27aa784e-67e4-40ec-a787-3e305316cb8e',
  /** `platform Team`, the project's default team. */
  defaultTeam: 'febb72f2-65ab-4ee3-95d4-f4be1312e694',
} as const;

/** The pipeline run the emulated agent pretends to be (SYSTEM_PLANID, SYSTEM_JOBID, BUILD_BUILDID). */
/** Same values as cloud.ts PIPELINE_RUN. */
export const PIPELINE = {
  planId: '4b0e6f3c-9a1d-4c2e-8f5b-7d3a1e9c6b20',
  jobId: '12f1170f-54f2-53f3-20dd-22fc7dff55f9',
  hubName: 'build',
  buildId: 1042,
} as const;

/**
 * `converged`: the user-assigned managed identity `flux-aks-prod` (principalId and clientId are the
 * ones of azure/scenario.ts CONVERGED_IDENTITY), its storage key once added to the organization,
 * and the team FluxOidcProvision created.
 */
export const CONVERGED_IDENTITY = {
  principalId: 'e5b8c2d1-7f3a-4b9e-a6c4-2d1f8e3b5a97',
  clientId: '9a7d1c3e-2b4f-4e6a-8c1d-5f3b2a9e7c40',
  storageKey: '496c3560-a5b5-4a16-95e1-f9c341bd0f65',
  teamId: 'c75eb613-ad2e-44de-9776-0189f379c77b',
} as const;
