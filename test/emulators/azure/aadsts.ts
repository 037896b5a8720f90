/**
 * Entra ID token-endpoint errors with the real AADSTS codes and texts (api-contracts D; texts from
 * the ADO and workload-identity troubleshooting docs; where only the code is documented the text
 * follows the real message's form). Body shape as shared/reference/api-examples/entra/*.error-response.json.
 *
 * Status and `error`: a client assertion Entra cannot accept is a failed client authentication, so
 * it answers 401 `invalid_client` (RFC 6749 section 5.2: "invalid_client ... Client authentication
 * failed ... the authorization server MAY return an HTTP 401"; Entra's answers for the federation
 * mismatches 700211/700212/700213 and the unknown signing key 7000272 carry `invalid_client`, e.g.
 * Azure/azure-workload-identity#1232 for 7000272). The generic AADSTS70021 keeps the form of the
 * official example (entra/aadsts70021-no-matching-federated-identity.error-response.json:
 * `invalid_request`).
 */
import * as crypto from 'node:crypto';
import { HttpError } from '../core/host';

const FIC_HINT =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

function timestamp(nowMs: number): string {
  return new Date(nowMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Throws the Entra error response: `{error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}`. */
export function aadError(
  nowMs: number,
  status: number,
  error: string,
  code: number,
  text: string,
  correlationId?: string,
): never {
  const traceId = crypto.randomUUID();
  const corr = correlationId ?? crypto.randomUUID();
  const ts = timestamp(nowMs);
  throw new HttpError(
    status,
    {
      error,
      error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${corr}\r\nTimestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: corr,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
    { 'x-ms-request-id': traceId, 'client-request-id': corr },
  );
}

/** The texts, by code, so the token endpoint reads as a list of checks. */
export const AADSTS = {
  tenantNotFound: (t: string) =>
    [
      400,
      'invalid_request',
      90002,
      `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ] as const,
  unsupportedGrant: (g: string) =>
    [400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${g}'.`] as const,
  missingParameter: (p: string) =>
    [400, 'invalid_request', 900144, `The request body must contain the following parameter: '${p}'.`] as const,
  missingCredential: () =>
    [
      401,
      'invalid_client',
      7000218,
      `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.`,
    ] as const,
  // A scope that is not `<resource>/.default` (client credentials take only .default):
  // the official examples entra/aadsts-error-response.sample.json and token-v2-client-credentials.error-response.json.
  badScope: (s: string) =>
    [
      400,
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${s} is not valid.`,
    ] as const,
  // A well-formed `<resource>/.default` naming a resource with no service principal in the tenant:
  // AADSTS500011 InvalidResourceServicePrincipalNotFound (learn.microsoft.com/entra/identity-platform/reference-error-codes);
  // body form `invalid_resource` as quoted in Azure/azure-cli#16850 and rootinc/laravel-azure-middleware#51.
  unknownResource: (resource: string, tenant: string) =>
    [
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ] as const,
  unknownClient: (id: string, tenant: string) =>
    [
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${id}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ] as const,
  badSecret: (appId: string) =>
    [
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
    ] as const,
  expiredSecret: (appId: string, keyId: string) =>
    [
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds. Key id: ${keyId}.`,
    ] as const,
  badAssertionType: (t: string) =>
    [
      400,
      'invalid_request',
      700025,
      `Client is public so neither 'client_assertion' nor 'client_secret' should be presented. client_assertion_type '${t}' is not supported.`,
    ] as const,
  malformedAssertion: (why: string) =>
    [400, 'invalid_request', 50027, `JWT token is invalid or malformed. ${why}`] as const,
  certificateNotRegistered: (thumb: string, appId: string) =>
    [
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumb}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'.]`,
    ] as const,
  certificateSignature: () => [401, 'invalid_client', 700027, 'Client assertion failed signature validation.'] as const,
  assertionAudience: (aud: string) =>
    [
      401,
      'invalid_client',
      700026,
      `Client assertion audience claim does not match Realm issuer. Audience: '${aud}'.`,
    ] as const,
  assertionTime: (nowMs: number, nbf: number | undefined, exp: number | undefined) =>
    [
      400,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(nowMs).toISOString()}, assertion valid from ${nbf !== undefined ? new Date(nbf * 1000).toISOString() : 'unset'}, expiry time of assertion ${exp !== undefined ? new Date(exp * 1000).toISOString() : 'unset'}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    ] as const,
  noFics: (appId: string, name: string) =>
    [
      400,
      'invalid_client',
      70025,
      `The client '${appId}'(${name}) has no configured federated identity credentials.`,
    ] as const,
  noMatch: (iss: string, sub: string, aud: string) =>
    [
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${aud}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    ] as const,
  issuerMismatch: (iss: string) =>
    [
      401,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'. ${FIC_HINT}`,
    ] as const,
  subjectMismatch: (sub: string) =>
    [
      401,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${sub}'. Please note that the matching is done using a case-sensitive comparison. ${FIC_HINT}`,
    ] as const,
  audienceMismatch: (aud: string) =>
    [
      401,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${aud}'. ${FIC_HINT}`,
    ] as const,
  issuerUnreachable: (iss: string, why: string) =>
    [400, 'invalid_request', 90061, `Request to External OIDC endpoint failed. Issuer: '${iss}'. ${why}`] as const,
  // The assertion's `kid` is not in the issuer's published key set (e.g. after an AKS signing-key
  // rotation): text as Entra answers it, quoted in Azure/azure-workload-identity#1232.
  signingKeyNotFound: (kid: string, iss: string) =>
    [
      401,
      'invalid_client',
      7000272,
      `The certificate with identifier ${kid} used to sign the federated credential could not be found in the metadata of identity provider ${iss}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.`,
    ] as const,
  assertionSignature: (why: string) =>
    [400, 'invalid_client', 50013, `Assertion failed signature validation. [Reason - ${why}]`] as const,
} satisfies Record<string, (...a: never[]) => readonly [number, string, number, string]>;

export type AadErrorSpec = readonly [number, string, number, string];
