/**
 * kubectl sends some built-in requests as Kubernetes protobuf (`application/vnd.kubernetes.protobuf`:
 * the magic `k8s\0`, then a runtime.Unknown wrapping the object). The emulator reads the two it needs
 * for `kubectl create token` and `kubectl auth can-i` (TokenRequest, SelfSubjectAccessReview) and
 * answers in JSON, which kubectl accepts; any other protobuf body gets a clear 415.
 */
import { statusError } from './status';

type Fields = Map<number, (Buffer | bigint)[]>;

function varint(b: Buffer, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.i >= b.length) throw new Error('truncated varint');
    const byte = b[pos.i++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function fields(b: Buffer): Fields {
  const out: Fields = new Map();
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const key = Number(varint(b, pos));
    const no = key >>> 3;
    const wire = key & 7;
    let v: Buffer | bigint;
    if (wire === 0) v = varint(b, pos);
    else if (wire === 2) {
      const len = Number(varint(b, pos));
      v = b.subarray(pos.i, pos.i + len);
      pos.i += len;
    } else if (wire === 1) {
      v = b.readBigUInt64LE(pos.i);
      pos.i += 8;
    } else if (wire === 5) {
      v = BigInt(b.readUInt32LE(pos.i));
      pos.i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.set(no, [...(out.get(no) ?? []), v]);
  }
  return out;
}

const str = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
};
const strs = (f: Fields, n: number): string[] =>
  (f.get(n) ?? []).filter(Buffer.isBuffer).map((v) => v.toString('utf8'));
const sub = (f: Fields, n: number): Fields => {
  const v = f.get(n)?.[0];
  return Buffer.isBuffer(v) ? fields(v) : new Map();
};
const int = (f: Fields, n: number): number | undefined => {
  const v = f.get(n)?.[0];
  return typeof v === 'bigint' ? Number(v) : undefined;
};

export function isProtobuf(contentType: string | undefined): boolean {
  return /application\/vnd\.kubernetes\.protobuf/.test(contentType ?? '');
}

/** Decodes a protobuf request body into the JSON object the emulator understands. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw statusError(400, 'BadRequest', 'the protobuf body does not start with the k8s magic');
  try {
    const unknown = fields(body.subarray(4));
    const typeMeta = sub(unknown, 1);
    const apiVersion = str(typeMeta, 1) ?? '';
    const kind = str(typeMeta, 2) ?? '';
    const raw = sub(unknown, 2);
    if (kind === 'TokenRequest') {
      const spec = sub(raw, 2);
      const bound = sub(spec, 3);
      return {
        apiVersion,
        kind,
        metadata: {},
        spec: {
          audiences: strs(spec, 1),
          ...(int(spec, 4) !== undefined ? { expirationSeconds: int(spec, 4) } : {}),
          ...(bound.size
            ? {
                boundObjectRef: {
                  kind: str(bound, 1),
                  apiVersion: str(bound, 2),
                  name: str(bound, 3),
                  uid: str(bound, 4),
                },
              }
            : {}),
        },
      };
    }
    if (kind === 'SelfSubjectAccessReview') {
      const ra = sub(sub(raw, 2), 1);
      return {
        apiVersion,
        kind,
        metadata: {},
        spec: {
          resourceAttributes: {
            namespace: str(ra, 1),
            verb: str(ra, 2),
            group: str(ra, 3),
            version: str(ra, 4),
            resource: str(ra, 5),
            subresource: str(ra, 6),
            name: str(ra, 7),
          },
        },
      };
    }
    if (kind === 'SelfSubjectReview') return { apiVersion, kind, metadata: {} };
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the emulated API server reads protobuf only for TokenRequest and SelfSubjectAccessReview, not ${kind}; send JSON (kubectl apply -f, or --output json clients)`,
    );
  } catch (e) {
    if (e instanceof Error && 'status' in e) throw e;
    throw statusError(
      400,
      'BadRequest',
      `cannot decode the protobuf body: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
