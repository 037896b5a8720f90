/**
 * What `flux install --export` / `flux bootstrap` write, per Flux version: gotk-components.yaml
 * (Namespace, CRDs, ServiceAccounts, Deployments with the controllers' real image tags, Services,
 * RBAC, NetworkPolicies), gotk-sync.yaml and the flux-system kustomization.yaml. Trimmed to what
 * matters here (the CRDs carry the spec fields of GitRepository per version so the API server prunes
 * `provider` exactly where Flux does not know it; other CRD schemas keep unknown fields), but
 * shaped like the real files so kustomize patches written for real repositories apply.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../model';
import type { PrinterColumn, Schema } from '../resources';

export const CONTROLLERS = [
  'source-controller',
  'kustomize-controller',
  'helm-controller',
  'notification-controller',
  'image-reflector-controller',
  'image-automation-controller',
] as const;
export type Controller = (typeof CONTROLLERS)[number];

export const DEFAULT_COMPONENTS: Controller[] = [
  'source-controller',
  'kustomize-controller',
  'helm-controller',
  'notification-controller',
];
export const EXTRA_COMPONENTS: Controller[] = ['image-reflector-controller', 'image-automation-controller'];

/** Controller versions per Flux minor (from fluxcd/flux2 manifests/bases/<controller>/kustomization.yaml at each tag). */
const CONTROLLER_VERSIONS: Record<string, Record<Controller, string>> = {
  '2.2': {
    'source-controller': '1.2.4',
    'kustomize-controller': '1.2.2',
    'helm-controller': '0.37.4',
    'notification-controller': '1.2.4',
    'image-reflector-controller': '0.31.2',
    'image-automation-controller': '0.37.1',
  },
  '2.3': {
    'source-controller': '1.3.0',
    'kustomize-controller': '1.3.0',
    'helm-controller': '1.0.1',
    'notification-controller': '1.3.0',
    'image-reflector-controller': '0.32.0',
    'image-automation-controller': '0.38.0',
  },
  '2.4': {
    'source-controller': '1.4.1',
    'kustomize-controller': '1.4.0',
    'helm-controller': '1.1.0',
    'notification-controller': '1.4.0',
    'image-reflector-controller': '0.33.0',
    'image-automation-controller': '0.39.0',
  },
  '2.5': {
    'source-controller': '1.5.0',
    'kustomize-controller': '1.5.1',
    'helm-controller': '1.2.0',
    'notification-controller': '1.5.0',
    'image-reflector-controller': '0.34.0',
    'image-automation-controller': '0.40.0',
  },
  '2.6': {
    'source-controller': '1.6.0',
    'kustomize-controller': '1.6.0',
    'helm-controller': '1.3.0',
    'notification-controller': '1.6.0',
    'image-reflector-controller': '0.35.0',
    'image-automation-controller': '0.41.0',
  },
  '2.7': {
    'source-controller': '1.7.0',
    'kustomize-controller': '1.7.0',
    'helm-controller': '1.4.0',
    'notification-controller': '1.7.1',
    'image-reflector-controller': '1.0.1',
    'image-automation-controller': '1.0.1',
  },
  '2.8': {
    'source-controller': '1.8.0',
    'kustomize-controller': '1.8.0',
    'helm-controller': '1.5.0',
    'notification-controller': '1.8.0',
    'image-reflector-controller': '1.1.0',
    'image-automation-controller': '1.1.0',
  },
  '2.9': {
    'source-controller': '1.9.1',
    'kustomize-controller': '1.9.1',
    'helm-controller': '1.6.1',
    'notification-controller': '1.9.1',
    'image-reflector-controller': '1.2.1',
    'image-automation-controller': '1.2.1',
  },
};

export function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  if (!m) throw new Error(`not a version: '${v}'`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

function minorKey(fluxVersion: string): string {
  const [maj, min] = parseVersion(fluxVersion);
  const key = `${maj}.${min}`;
  if (!CONTROLLER_VERSIONS[key])
    throw new Error(
      `Flux ${fluxVersion} is not modelled by the emulator (known: ${Object.keys(CONTROLLER_VERSIONS).join(', ')})`,
    );
  return key;
}

export function controllerVersion(fluxVersion: string, c: Controller): string {
  return CONTROLLER_VERSIONS[minorKey(fluxVersion)]![c];
}

/** The Flux minor a controller image tag belongs to (the reverse of the table). */
export function fluxMinorForController(c: Controller, tag: string): string | undefined {
  const [maj, min] = parseVersion(tag);
  for (const [flux, map] of Object.entries(CONTROLLER_VERSIONS)) {
    const [cm, cn] = parseVersion(map[c]);
    if (cm === maj && cn === min) return flux;
  }
  return undefined;
}

// ---------- CRDs ----------

const preserve: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const obj = (props: string[], extra: Record<string, Schema> = {}): Schema => ({
  type: 'object',
  properties: Object.fromEntries([
    ...props.map((p) => [p, extra[p] ?? { 'x-kubernetes-preserve-unknown-fields': true }] as const),
  ]),
});

function gitRepositorySpec(scMinor: number, version: 'v1' | 'v1beta2'): Schema {
  if (version === 'v1beta2') {
    return obj([
      'accessFrom',
      'gitImplementation',
      'ignore',
      'include',
      'interval',
      'recurseSubmodules',
      'ref',
      'secretRef',
      'suspend',
      'timeout',
      'url',
      'verify',
    ]);
  }
  const props = [
    'ignore',
    'include',
    'interval',
    'proxySecretRef',
    'recurseSubmodules',
    'ref',
    'secretRef',
    'suspend',
    'timeout',
    'url',
    'verify',
  ];
  // The published GitRepository v1 CRD's patterns (source-controller config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml).
  const extra: Record<string, Schema> = {
    url: { type: 'string', pattern: '^(http|https|ssh)://.*$' },
    interval: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$' },
  };
  if (scMinor >= 4) {
    props.push('provider');
    extra.provider = {
      type: 'string',
      enum:
        scMinor >= 9
          ? ['generic', 'aws', 'azure', 'github']
          : scMinor >= 5
            ? ['generic', 'azure', 'github']
            : ['generic', 'azure'],
    };
  }
  if (scMinor >= 6) props.push('sparseCheckout');
  if (scMinor >= 7) props.push('serviceAccountName');
  return obj(props.sort(), extra);
}

/**
 * The structural schema of a Flux CRD version the emulator knows field by field (GitRepository),
 * for CRDs written without their schema (abbreviated fixtures): the API server then prunes as the
 * published CRD of that Flux version would. `fluxVersion` is the CRD's app.kubernetes.io/version label.
 */
export function knownFluxSchema(
  group: string,
  kind: string,
  version: string,
  fluxVersion: string | undefined,
): Schema | undefined {
  if (group !== 'source.toolkit.fluxcd.io' || kind !== 'GitRepository' || !fluxVersion) return undefined;
  if (version !== 'v1' && version !== 'v1beta2') return undefined;
  let scMinor: number;
  try {
    scMinor = parseVersion(controllerVersion(fluxVersion, 'source-controller'))[1];
  } catch {
    return undefined;
  }
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: gitRepositorySpec(scMinor, version),
      status: preserve,
    },
  };
}

const readyColumns: PrinterColumn[] = [
  { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].status', name: 'Ready', type: 'string' },
  { jsonPath: '.status.conditions[?(@.type=="Ready")].message', name: 'Status', type: 'string' },
];

/** Short names of the Flux kinds (`kubectl get ks`), for CRDs written without them. */
export const FLUX_SHORT_NAMES: Record<string, string[]> = {
  GitRepository: ['gitrepo'],
  HelmRepository: ['helmrepo'],
  HelmChart: ['hc'],
  OCIRepository: ['ocirepo'],
  Kustomization: ['ks'],
  HelmRelease: ['hr'],
};

/** The printer columns of a Flux kind, for CRDs written without them (abbreviated fixtures). */
export function knownFluxColumns(group: string, kind: string, version: string): PrinterColumn[] | undefined {
  if (!group.endsWith('.toolkit.fluxcd.io')) return undefined;
  switch (kind) {
    case 'GitRepository':
      return [{ jsonPath: '.spec.url', name: 'URL', type: 'string' }, ...readyColumns];
    case 'ImageRepository':
      return [
        { jsonPath: '.status.lastScanResult.scanTime', name: 'Last scan', type: 'string' },
        { jsonPath: '.status.lastScanResult.tagCount', name: 'Tags', type: 'string' },
        ...readyColumns,
      ];
    case 'ImagePolicy':
      return [
        {
          jsonPath: version === 'v1' ? '.status.latestRef.tag' : '.status.latestImage',
          name: version === 'v1' ? 'Latest Tag' : 'LatestImage',
          type: 'string',
        },
        ...readyColumns,
      ];
    case 'ImageUpdateAutomation':
      return [{ jsonPath: '.status.lastAutomationRunTime', name: 'Last run', type: 'string' }, ...readyColumns];
    default:
      return readyColumns;
  }
}

interface CrdSpec {
  kind: string;
  plural: string;
  group: string;
  shortNames?: string[];
  versions: { name: string; storage?: boolean; spec?: Schema; columns?: PrinterColumn[] }[];
}

function crd(c: CrdSpec, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${c.group}`, labels },
    spec: {
      group: c.group,
      names: {
        kind: c.kind,
        listKind: `${c.kind}List`,
        plural: c.plural,
        singular: c.kind.toLowerCase(),
        ...(c.shortNames ? { shortNames: c.shortNames } : {}),
      },
      scope: 'Namespaced',
      versions: c.versions.map((v, i) => ({
        additionalPrinterColumns: v.columns ?? readyColumns,
        name: v.name,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: v.spec ?? preserve,
              status: preserve,
            },
          },
        },
        served: true,
        storage: v.storage ?? i === 0,
        subresources: { status: {} },
      })),
    },
  };
}

function crdsFor(component: Controller, fluxVersion: string, labels: Record<string, string>): KubeObject[] {
  const scMinor = parseVersion(controllerVersion(fluxVersion, 'source-controller'))[1];
  const fluxMinor = parseVersion(fluxVersion)[1];
  const imageV1 = fluxMinor >= 7;
  const l = (c: Controller) => ({ ...labels, 'app.kubernetes.io/component': c });
  switch (component) {
    case 'source-controller':
      return [
        crd(
          {
            kind: 'GitRepository',
            plural: 'gitrepositories',
            group: 'source.toolkit.fluxcd.io',
            shortNames: ['gitrepo'],
            versions: [
              {
                name: 'v1',
                spec: gitRepositorySpec(scMinor, 'v1'),
                columns: [{ jsonPath: '.spec.url', name: 'URL', type: 'string' }, ...readyColumns],
              },
              ...(fluxMinor <= 8
                ? [
                    {
                      name: 'v1beta2',
                      storage: false,
                      spec: gitRepositorySpec(scMinor, 'v1beta2'),
                      columns: [{ jsonPath: '.spec.url', name: 'URL', type: 'string' }, ...readyColumns],
                    },
                  ]
                : []),
            ],
          },
          l(component),
        ),
        crd(
          {
            kind: 'HelmRepository',
            plural: 'helmrepositories',
            group: 'source.toolkit.fluxcd.io',
            shortNames: ['helmrepo'],
            versions: [{ name: 'v1' }],
          },
          l(component),
        ),
        crd(
          {
            kind: 'HelmChart',
            plural: 'helmcharts',
            group: 'source.toolkit.fluxcd.io',
            shortNames: ['hc'],
            versions: [{ name: 'v1' }],
          },
          l(component),
        ),
        crd(
          {
            kind: 'OCIRepository',
            plural: 'ocirepositories',
            group: 'source.toolkit.fluxcd.io',
            shortNames: ['ocirepo'],
            versions: [{ name: fluxMinor >= 6 ? 'v1' : 'v1beta2' }],
          },
          l(component),
        ),
        crd(
          { kind: 'Bucket', plural: 'buckets', group: 'source.toolkit.fluxcd.io', versions: [{ name: 'v1' }] },
          l(component),
        ),
      ];
    case 'kustomize-controller':
      return [
        crd(
          {
            kind: 'Kustomization',
            plural: 'kustomizations',
            group: 'kustomize.toolkit.fluxcd.io',
            shortNames: ['ks'],
            versions: [{ name: 'v1' }, ...(fluxMinor <= 6 ? [{ name: 'v1beta2', storage: false }] : [])],
          },
          l(component),
        ),
      ];
    case 'helm-controller':
      return [
        crd(
          {
            kind: 'HelmRelease',
            plural: 'helmreleases',
            group: 'helm.toolkit.fluxcd.io',
            shortNames: ['hr'],
            versions: [{ name: 'v2' }],
          },
          l(component),
        ),
      ];
    case 'notification-controller':
      return [
        crd(
          { kind: 'Alert', plural: 'alerts', group: 'notification.toolkit.fluxcd.io', versions: [{ name: 'v1beta3' }] },
          l(component),
        ),
        crd(
          {
            kind: 'Provider',
            plural: 'providers',
            group: 'notification.toolkit.fluxcd.io',
            versions: [{ name: 'v1beta3' }],
          },
          l(component),
        ),
        crd(
          {
            kind: 'Receiver',
            plural: 'receivers',
            group: 'notification.toolkit.fluxcd.io',
            versions: [{ name: 'v1' }],
          },
          l(component),
        ),
      ];
    case 'image-reflector-controller': {
      const versions = imageV1 ? [{ name: 'v1' }, { name: 'v1beta2', storage: false }] : [{ name: 'v1beta2' }];
      return [
        crd(
          {
            kind: 'ImageRepository',
            plural: 'imagerepositories',
            group: 'image.toolkit.fluxcd.io',
            versions: versions.map((v) => ({
              ...v,
              columns: [
                { jsonPath: '.status.lastScanResult.scanTime', name: 'Last scan', type: 'string' },
                { jsonPath: '.status.lastScanResult.tagCount', name: 'Tags', type: 'string' },
                ...readyColumns,
              ],
            })),
          },
          l(component),
        ),
        crd(
          {
            kind: 'ImagePolicy',
            plural: 'imagepolicies',
            group: 'image.toolkit.fluxcd.io',
            versions: versions.map((v) => ({
              ...v,
              columns: [
                {
                  jsonPath: v.name === 'v1' ? '.status.latestRef.tag' : '.status.latestImage',
                  name: v.name === 'v1' ? 'Latest Tag' : 'LatestImage',
                  type: 'string',
                },
                ...readyColumns,
              ],
            })),
          },
          l(component),
        ),
      ];
    }
    case 'image-automation-controller': {
      const versions = imageV1 ? [{ name: 'v1' }, { name: 'v1beta2', storage: false }] : [{ name: 'v1beta2' }];
      return [
        crd(
          {
            kind: 'ImageUpdateAutomation',
            plural: 'imageupdateautomations',
            group: 'image.toolkit.fluxcd.io',
            versions: versions.map((v) => ({
              ...v,
              columns: [
                { jsonPath: '.status.lastAutomationRunTime', name: 'Last run', type: 'string' },
                ...readyColumns,
              ],
            })),
          },
          l(component),
        ),
      ];
    }
  }
}

// ---------- workloads ----------

const CONTROLLER_ARGS: Record<Controller, string[]> = {
  'source-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
    '--storage-path=/data',
    '--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.',
  ],
  'kustomize-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ],
  'helm-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ],
  'notification-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ],
  'image-reflector-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ],
  'image-automation-controller': [
    '--events-addr=http://notification-controller.flux-system.svc.cluster.local./',
    '--watch-all-namespaces=true',
    '--log-level=info',
    '--log-encoding=json',
    '--enable-leader-election',
  ],
};

function deployment(c: Controller, fluxVersion: string, namespace: string, labels: Record<string, string>): KubeObject {
  const source = c === 'source-controller';
  const volumes = source
    ? [
        { emptyDir: {}, name: 'data' },
        { emptyDir: {}, name: 'tmp' },
      ]
    : c === 'image-reflector-controller'
      ? [
          { emptyDir: {}, name: 'temp' },
          { emptyDir: {}, name: 'data' },
        ]
      : [{ emptyDir: {}, name: 'temp' }];
  const mounts = source
    ? [
        { mountPath: '/data', name: 'data' },
        { mountPath: '/tmp', name: 'tmp' },
      ]
    : c === 'image-reflector-controller'
      ? [
          { mountPath: '/tmp', name: 'temp' },
          { mountPath: '/data', name: 'data' },
        ]
      : [{ mountPath: '/tmp', name: 'temp' }];
  const ports = [
    ...(source || c === 'notification-controller' ? [{ containerPort: 9090, name: 'http', protocol: 'TCP' }] : []),
    ...(c === 'notification-controller' ? [{ containerPort: 9292, name: 'http-webhook', protocol: 'TCP' }] : []),
    { containerPort: 8080, name: 'http-prom', protocol: 'TCP' },
    { containerPort: 9440, name: 'healthz', protocol: 'TCP' },
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      labels: { 'app.kubernetes.io/component': c, ...labels, 'control-plane': 'controller' },
      name: c,
      namespace,
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: c } },
      ...(source ? { strategy: { type: 'Recreate' } } : {}),
      template: {
        metadata: { annotations: { 'prometheus.io/port': '8080', 'prometheus.io/scrape': 'true' }, labels: { app: c } },
        spec: {
          containers: [
            {
              args: CONTROLLER_ARGS[c],
              env: [
                { name: 'RUNTIME_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                {
                  name: 'GOMAXPROCS',
                  valueFrom: { resourceFieldRef: { containerName: 'manager', resource: 'limits.cpu' } },
                },
                {
                  name: 'GOMEMLIMIT',
                  valueFrom: { resourceFieldRef: { containerName: 'manager', resource: 'limits.memory' } },
                },
              ],
              image: `ghcr.io/fluxcd/${c}:v${controllerVersion(fluxVersion, c)}`,
              imagePullPolicy: 'IfNotPresent',
              livenessProbe: { httpGet: { path: '/healthz', port: 'healthz' } },
              name: 'manager',
              ports,
              readinessProbe: { httpGet: source ? { path: '/', port: 'http' } : { path: '/readyz', port: 'healthz' } },
              resources: { limits: { cpu: '1000m', memory: '1Gi' }, requests: { cpu: '100m', memory: '64Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: mounts,
            },
          ],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          priorityClassName: 'system-cluster-critical',
          securityContext: { fsGroup: 1337 },
          serviceAccountName: c,
          terminationGracePeriodSeconds: source ? 10 : 60,
          volumes,
        },
      },
    },
  };
}

export interface InstallOptions {
  version: string;
  namespace?: string;
  components?: string[];
}

function normaliseComponents(components: string[] | undefined): Controller[] {
  const list = components ?? DEFAULT_COMPONENTS;
  for (const c of list)
    if (!(CONTROLLERS as readonly string[]).includes(c))
      throw new Error(`unknown Flux component '${c}' (known: ${CONTROLLERS.join(', ')})`);
  return CONTROLLERS.filter((c) => list.includes(c));
}

/** The objects of gotk-components.yaml, in file order. */
export function fluxComponents(o: InstallOptions): KubeObject[] {
  const namespace = o.namespace ?? 'flux-system';
  const version = `v${parseVersion(o.version).join('.')}`;
  const components = normaliseComponents(o.components);
  const labels = {
    'app.kubernetes.io/instance': namespace,
    'app.kubernetes.io/part-of': 'flux',
    'app.kubernetes.io/version': version,
  };
  const out: KubeObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        labels: {
          ...labels,
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/warn-version': 'latest',
        },
        name: namespace,
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { labels, name: 'allow-egress', namespace },
      spec: {
        egress: [{}],
        ingress: [{ from: [{ podSelector: {} }] }],
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { labels, name: 'allow-webhooks', namespace },
      spec: {
        ingress: [{ from: [{ namespaceSelector: {} }] }],
        podSelector: { matchLabels: { app: 'notification-controller' } },
        policyTypes: ['Ingress'],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { labels, name: 'allow-scraping', namespace },
      spec: {
        ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 8080, protocol: 'TCP' }] }],
        podSelector: {},
        policyTypes: ['Ingress'],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { labels, name: 'critical-pods-flux-system', namespace },
      spec: {
        hard: { pods: '1000' },
        scopeSelector: {
          matchExpressions: [
            { operator: 'In', scopeName: 'PriorityClass', values: ['system-node-critical', 'system-cluster-critical'] },
          ],
        },
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { labels, name: `crd-controller-${namespace}` },
      rules: [
        {
          apiGroups: [
            'source.toolkit.fluxcd.io',
            'kustomize.toolkit.fluxcd.io',
            'helm.toolkit.fluxcd.io',
            'notification.toolkit.fluxcd.io',
            'image.toolkit.fluxcd.io',
          ],
          resources: ['*'],
          verbs: ['*'],
        },
        {
          apiGroups: [''],
          resources: ['namespaces', 'secrets', 'configmaps', 'serviceaccounts'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        labels: {
          ...labels,
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
        },
        name: `flux-edit-${namespace}`,
      },
      rules: [
        {
          apiGroups: [
            'notification.toolkit.fluxcd.io',
            'source.toolkit.fluxcd.io',
            'helm.toolkit.fluxcd.io',
            'image.toolkit.fluxcd.io',
            'kustomize.toolkit.fluxcd.io',
          ],
          resources: ['*'],
          verbs: ['create', 'delete', 'deletecollection', 'patch', 'update'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        labels: {
          ...labels,
          'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
          'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
          'rbac.authorization.k8s.io/aggregate-to-view': 'true',
        },
        name: `flux-view-${namespace}`,
      },
      rules: [
        {
          apiGroups: [
            'notification.toolkit.fluxcd.io',
            'source.toolkit.fluxcd.io',
            'helm.toolkit.fluxcd.io',
            'image.toolkit.fluxcd.io',
            'kustomize.toolkit.fluxcd.io',
          ],
          resources: ['*'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { labels, name: `cluster-reconciler-${namespace}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [
        { kind: 'ServiceAccount', name: 'kustomize-controller', namespace },
        { kind: 'ServiceAccount', name: 'helm-controller', namespace },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { labels, name: `crd-controller-${namespace}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `crd-controller-${namespace}` },
      subjects: components.map((c) => ({ kind: 'ServiceAccount', name: c, namespace })),
    },
  ];
  for (const c of components) out.push(...crdsFor(c, o.version, labels));
  for (const c of components) {
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { labels: { ...labels, 'app.kubernetes.io/component': c }, name: c, namespace },
    });
  }
  if (components.includes('source-controller')) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        labels: { ...labels, 'app.kubernetes.io/component': 'source-controller', 'control-plane': 'controller' },
        name: 'source-controller',
        namespace,
      },
      spec: {
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
        selector: { app: 'source-controller' },
        type: 'ClusterIP',
      },
    });
  }
  if (components.includes('notification-controller')) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        labels: { ...labels, 'app.kubernetes.io/component': 'notification-controller', 'control-plane': 'controller' },
        name: 'notification-controller',
        namespace,
      },
      spec: {
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
        selector: { app: 'notification-controller' },
        type: 'ClusterIP',
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        labels: { ...labels, 'app.kubernetes.io/component': 'notification-controller', 'control-plane': 'controller' },
        name: 'webhook-receiver',
        namespace,
      },
      spec: {
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http-webhook' }],
        selector: { app: 'notification-controller' },
        type: 'ClusterIP',
      },
    });
  }
  for (const c of components) out.push(deployment(c, o.version, namespace, labels));
  return out;
}

function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

/** gotk-components.yaml with the header `flux install --export` writes (version and components). */
export function gotkComponentsYaml(o: InstallOptions): string {
  const components = normaliseComponents(o.components);
  return `---\n# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v${parseVersion(o.version).join('.')}\n# Components: ${components.join(',')}\n${toYaml(fluxComponents(o)).slice(4)}`;
}

export interface SyncOptions {
  namespace?: string;
  name?: string;
  url: string;
  branch?: string;
  path: string;
  secretName?: string;
  interval?: string;
}

/** The objects of gotk-sync.yaml (GitRepository v1 with secretRef, Kustomization v1), as `flux bootstrap` writes them. */
export function fluxSync(o: SyncOptions): KubeObject[] {
  const namespace = o.namespace ?? 'flux-system';
  const name = o.name ?? namespace;
  const path = o.path.startsWith('./') ? o.path : `./${o.path.replace(/^\/+/, '')}`;
  return [
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name, namespace },
      spec: {
        interval: o.interval ?? '1m0s',
        ref: { branch: o.branch ?? 'main' },
        secretRef: { name: o.secretName ?? name },
        url: o.url,
      },
    },
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name, namespace },
      spec: { interval: '10m0s', path, prune: true, sourceRef: { kind: 'GitRepository', name } },
    },
  ];
}

export function gotkSyncYaml(o: SyncOptions): string {
  return `# This manifest was generated by flux. DO NOT EDIT.\n${toYaml(fluxSync(o))}`;
}

/** The kustomization.yaml `flux bootstrap` writes into the flux-system folder. */
export function fluxSystemKustomizationYaml(): string {
  return 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n';
}

/** The three files of `clusters/<name>/flux-system/` after `flux bootstrap`, keyed by path relative to the repo root. */
export function fluxSystemFiles(o: InstallOptions & SyncOptions): Record<string, string> {
  const dir = `${o.path.replace(/^\.\//, '').replace(/\/+$/, '')}/flux-system`;
  return {
    [`${dir}/gotk-components.yaml`]: gotkComponentsYaml(o),
    [`${dir}/gotk-sync.yaml`]: gotkSyncYaml(o),
    [`${dir}/kustomization.yaml`]: fluxSystemKustomizationYaml(),
  };
}
