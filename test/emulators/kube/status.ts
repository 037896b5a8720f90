/**
 * Error answers in the API server's own `Status` shape and wording, so clients (kubectl,
 * @kubernetes/client-node, the product) see exactly what a real cluster sends.
 */
import { HttpError } from '../core/host';
import type { ResourceDef } from './resources';
import { qualifiedResource } from './resources';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
  };
  if (details) body.details = details;
  body.code = code;
  return body;
}

export function statusError(code: number, reason: string, message: string, details?: StatusDetails): HttpError {
  return new HttpError(code, statusBody(code, reason, message, details));
}

function detailsFor(def: ResourceDef, name?: string): StatusDetails {
  const d: StatusDetails = {};
  if (name !== undefined) d.name = name;
  if (def.group) d.group = def.group;
  d.kind = def.plural;
  return d;
}

export const errors = {
  notFound: (def: ResourceDef, name: string) =>
    statusError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, detailsFor(def, name)),
  alreadyExists: (def: ResourceDef, name: string) =>
    statusError(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, detailsFor(def, name)),
  conflict: (def: ResourceDef, name: string) =>
    statusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      detailsFor(def, name),
    ),
  /** 422 with the `Kind.group "name" is invalid: a; b` message of field validation. */
  invalid: (
    kind: string,
    group: string,
    name: string,
    causes: { field: string; message: string; reason?: string }[],
  ) => {
    const qualified = group ? `${kind}.${group}` : kind;
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    return statusError(422, 'Invalid', `${qualified} "${name}" is invalid: ${summary}`, {
      name,
      ...(group ? { group } : {}),
      kind,
      causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
    });
  },
  badRequest: (message: string) => statusError(400, 'BadRequest', message),
  unauthorized: () => statusError(401, 'Unauthorized', 'Unauthorized'),
  pathNotFound: () => statusError(404, 'NotFound', 'the server could not find the requested resource', {}),
  methodNotAllowed: (message: string) => statusError(405, 'MethodNotAllowed', message, {}),
  unsupportedPatch: () =>
    statusError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    ),
};
