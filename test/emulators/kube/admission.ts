/**
 * What the API server does to an object between the request and storage, shared by the HTTP API
 * and the in-process writers (kustomize-controller's apply): version views (custom resources are
 * stored at their storage version and pruned to the schema of the version read or written),
 * structural pruning, enum and pattern validation (422 with the real message), Secret stringData.
 */
import type { KubeObject } from './model';
import { clone } from './patch';
import type { ResourceDef } from './resources';
import { apiVersionOf, enumViolations, prune } from './resources';
import { errors } from './status';

/** The object as served at `version`. */
export function viewAt(def: ResourceDef, obj: KubeObject, version: string): KubeObject {
  const o = prune(clone(obj), def.schemas?.[version]) as KubeObject;
  o.apiVersion = apiVersionOf(def, version);
  o.kind = def.kind;
  return o;
}

/** Validates and normalises an incoming object written at `version`; throws a 422 Status. */
export function admit(def: ResourceDef, version: string, incoming: KubeObject): KubeObject {
  const o = prune(clone(incoming), def.schemas?.[version]) as KubeObject;
  o.apiVersion = apiVersionOf(def, version);
  o.kind = def.kind;
  o.metadata ??= { name: '' };
  if (!o.metadata.name && !o.metadata.generateName) {
    throw errors.invalid(def.kind, def.group, '', [
      {
        field: 'metadata.name',
        message: 'Required value: name or generateName is required',
        reason: 'FieldValueRequired',
      },
    ]);
  }
  if (o.metadata.name && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata.name)) {
    throw errors.invalid(def.kind, def.group, o.metadata.name, [
      {
        field: 'metadata.name',
        message: `Invalid value: "${o.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ]);
  }
  const bad = enumViolations(o, def.schemas?.[version]);
  if (bad.length) {
    throw errors.invalid(
      def.kind,
      def.group,
      o.metadata.name,
      bad.map((b) => {
        const i = b.indexOf(': ');
        const message = b.slice(i + 2);
        return {
          field: b.slice(0, i),
          message,
          reason: message.startsWith('Unsupported value') ? 'FieldValueNotSupported' : 'FieldValueInvalid',
        };
      }),
    );
  }
  if (def.kind === 'Secret' && !def.group && o.stringData && typeof o.stringData === 'object') {
    const data = { ...((o.data as Record<string, string>) ?? {}) };
    for (const [k, v] of Object.entries(o.stringData as Record<string, string>))
      data[k] = Buffer.from(String(v)).toString('base64');
    o.data = data;
    delete o.stringData;
  }
  return o;
}
