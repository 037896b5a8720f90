/**
 * What every emulated ARM operation shares: the error body (`{error:{code,message}}`), the
 * request/correlation headers, path matching (ARM segments are case-insensitive), and the caller
 * (from the bearer token) with its RBAC check.
 */
import * as crypto from 'node:crypto';
import type { AccessTokenClaims, CloudContext } from '../../core/context';
import { HttpError, type EmuRequest, type EmuResponse } from '../../core/host';
import type { AzureState, ResourceGroupState, SubscriptionState } from '../model';
import { isAuthorized } from './rbac';

export class ArmError extends HttpError {
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(status, { error: { code, message } }, headers);
  }
}

/** One ARM request being served. */
export interface ArmCall {
  ctx: CloudContext;
  req: EmuRequest;
  azure: AzureState;
  apiVersion: string;
  caller: AccessTokenClaims;
  params: Record<string, string>;
}

/** Matches `/subscriptions/{sub}/resourceGroups/{rg}/...` patterns; literals compare case-insensitively. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    const val = decodeURIComponent(s[i]!);
    if (seg.startsWith('{') && seg.endsWith('}')) out[seg.slice(1, -1)] = val;
    else if (seg.toLowerCase() !== val.toLowerCase()) return undefined;
  }
  return out;
}

export function eqi(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function findSubscription(call: ArmCall): SubscriptionState {
  const id = call.params.subscriptionId!;
  const sub = call.azure.subscriptions.find((s) => eqi(s.id, id));
  if (!sub) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${id}' could not be found.`);
  return sub;
}

export function findResourceGroup(call: ArmCall, sub: SubscriptionState): ResourceGroupState {
  const name = call.params.resourceGroupName!;
  const rg = sub.resourceGroups.find((r) => eqi(r.name, name));
  if (!rg) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
  return rg;
}

export function resourceNotFound(type: string, name: string, rg: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** 403 AuthorizationFailed unless the caller holds `action` at or above `scope`. */
export function authorize(call: ArmCall, action: string, scope: string): void {
  if (isAuthorized(call.azure, call.caller.oid, action, scope)) return;
  const who = call.caller.appid;
  throw new ArmError(
    403,
    'AuthorizationFailed',
    `The client '${who}' with object id '${call.caller.oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

/** Request ids ARM returns on every response (RPC common-api-details). */
export function armHeaders(req: EmuRequest, write: boolean): Record<string, string> {
  const requestId = crypto.randomUUID();
  const corrHeader = req.headers['x-ms-correlation-request-id'];
  const corr = typeof corrHeader === 'string' && corrHeader ? corrHeader : crypto.randomUUID();
  const h: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': corr,
    'x-ms-routing-request-id': `WESTEUROPE:${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}:${corr}`,
    'cache-control': 'no-cache',
    [write ? 'x-ms-ratelimit-remaining-subscription-writes' : 'x-ms-ratelimit-remaining-subscription-reads']: write
      ? '799'
      : '3749',
  };
  const clientId = req.headers['x-ms-client-request-id'];
  if (typeof clientId === 'string' && req.headers['x-ms-return-client-request-id'] === 'true')
    h['x-ms-client-request-id'] = clientId;
  return h;
}

export function ok(status: number, body?: unknown, extra: Partial<EmuResponse> = {}): EmuResponse {
  return { status, body, ...extra };
}

export function jsonBody<T>(call: ArmCall): T {
  if (call.req.body.length === 0)
    throw new ArmError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized: the body is empty.',
    );
  try {
    return JSON.parse(call.req.text()) as T;
  } catch (e) {
    throw new ArmError(
      400,
      'InvalidRequestContent',
      `The request content was invalid and could not be deserialized: '${e instanceof Error ? e.message : String(e)}'.`,
    );
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function tagsFrom(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))
    throw new ArmError(400, 'InvalidTags', 'The tags must be an object of string values.');
  return { ...(v as Record<string, string>) };
}
