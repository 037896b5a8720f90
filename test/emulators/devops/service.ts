/**
 * The Azure DevOps service set: one dispatcher per host (organization host, vssps, vsaex) that
 * resolves the organization and project from the path, authenticates, negotiates api-version and
 * runs the matching route; the route tables live in the area modules.
 */
import type { CloudContext } from '../core/context';
import { publicHostName, type Handler } from '../core/host';
import { Authenticator, type Caller } from './auth';
import { vssError, TF } from './errors';
import { RepoRegistry } from './git/repos';
import { DevOpsIssuer } from './issuer';
import { GitStore } from './git/store';
import {
  collection,
  matchRoute,
  negotiateVersion,
  ok,
  segmentsOf,
  type Route,
  type RouteContext,
  type RouteResult,
} from './http';
import { sameId } from './identity';
import { areaLocations, type DevOpsHostName } from './locations';
import type { DevOpsState, ProjectState } from './model';
import { orgUrls, type OrgUrls, type UrlForm } from './views';

export interface DevOpsCtx {
  svc: DevOpsService;
  state: DevOpsState;
  host: DevOpsHostName;
  urls: OrgUrls;
  /** `{host}/{org}` of the host that got the request. */
  orgUrl: string;
  /** Absent only on anonymous routes. */
  caller?: Caller;
  /** The project of a `{project}/_apis/…` route. */
  project?: ProjectState;
}

export type DevOpsRoute = Route<DevOpsCtx>;
export type Req = RouteContext<DevOpsCtx>;

/** The authenticated caller of a route. */
export function who(r: Req): Caller {
  if (!r.ctx.caller) throw new Error('route needs a caller but was registered as anonymous');
  return r.ctx.caller;
}

export function findProject(state: DevOpsState, nameOrId: string): ProjectState | undefined {
  return state.projects.find((p) => sameId(p.id, nameOrId) || p.name.toLowerCase() === nameOrId.toLowerCase());
}

/** A git smart-HTTP handler: gets the request after the organization segment. */
export type GitHttpHandler = (
  svc: DevOpsService,
  req: Parameters<Handler>[0],
  res: Parameters<Handler>[1],
  rest: string[],
) => Promise<RouteResult>;

/**
 * Which URL form a request used and its path as `{org}/…` segments. Through the edge
 * (core/edge.ts) the Host header names the host: on `{org}.visualstudio.com` (and
 * `{org}.vssps.visualstudio.com`, `{org}.vsaex.visualstudio.com`) the organization is the first
 * label and the path starts after it, optionally under `DefaultCollection/` (the collection of
 * the TFS-era URLs, still served); on `dev.azure.com` (and vssps./vsaex.dev.azure.com) and at
 * 127.0.0.1 it is the first path segment (learn.microsoft.com/azure/devops/extend/develop/work-with-urls).
 */
function addressed(
  host: DevOpsHostName,
  hostHeader: string | undefined,
  segs: string[],
): { form: UrlForm; segs: string[] } {
  const name = publicHostName(hostHeader);
  if (!name) return { form: 'emulator', segs };
  const sub = host === 'devops' ? '' : `${host}.`;
  if (name === `${sub}dev.azure.com`) return { form: 'new', segs };
  const m = new RegExp(`^([a-z0-9-]+)\\.${sub.replace('.', '\\.')}visualstudio\\.com$`).exec(name);
  if (!m) return { form: 'emulator', segs };
  const rest = host === 'devops' && segs[0]?.toLowerCase() === 'defaultcollection' ? segs.slice(1) : segs;
  return { form: 'legacy', segs: [m[1]!, ...rest] };
}

export class DevOpsService {
  readonly auth: Authenticator;
  readonly git: GitStore;
  readonly repos: RepoRegistry;
  readonly issuer: DevOpsIssuer;

  constructor(
    readonly cloud: CloudContext,
    private readonly routes: Record<DevOpsHostName, DevOpsRoute[]>,
    private readonly gitHttp: GitHttpHandler,
  ) {
    this.auth = new Authenticator(cloud);
    this.git = new GitStore(`${cloud.workDir}/devops-git`, cloud.clock);
    this.repos = new RepoRegistry(this.git, () => this.state);
    this.issuer = new DevOpsIssuer(cloud);
  }

  get state(): DevOpsState {
    return this.cloud.state.devops;
  }

  handler(host: DevOpsHostName): Handler {
    return async (req, res) => {
      const state = this.state;
      const { form, segs } = addressed(host, req.headers.host, segmentsOf(req.path));
      const org = state.organization.name;
      const urls = orgUrls(this.cloud.urls, org, form);
      const orgUrl = urls[host];
      const hostUrl = form === 'emulator' ? this.cloud.urls[host] : new URL(orgUrl).origin;
      if (segs.length === 0 || segs[0]!.toLowerCase() !== org.toLowerCase()) {
        throw vssError(
          404,
          'HostNotFoundException',
          `The organization '${segs[0] ?? ''}' was not found on this host; the emulated organization is '${org}' (${orgUrl}).`,
        );
      }
      const rest = segs.slice(1);
      if (host === 'devops') {
        const gi = rest.findIndex((x) => x.toLowerCase() === '_git');
        if (gi === 0 || gi === 1) return this.gitHttp(this, req, res, rest);
      }
      let scope: 'org' | 'project';
      let routeSegs: string[];
      let projectKey: string | undefined;
      if (rest[0]?.toLowerCase() === '_apis') {
        scope = 'org';
        routeSegs = rest;
      } else if (rest[1]?.toLowerCase() === '_apis') {
        scope = 'project';
        projectKey = rest[0];
        routeSegs = rest.slice(1);
      } else {
        this.auth.authenticate(req, orgUrl, hostUrl);
        throw vssError(
          404,
          'HttpException',
          `The controller for path '${req.path}' was not found or does not implement IController.`,
          'WebApi',
        );
      }
      const base: DevOpsCtx = { svc: this, state, host, urls, orgUrl };

      // Route discovery: OPTIONS {org}/_apis/{area}.
      if (req.method === 'OPTIONS' && scope === 'org' && routeSegs.length === 2) {
        this.auth.authenticate(req, orgUrl, hostUrl);
        const locations = areaLocations(host, routeSegs[1]!);
        if (!locations)
          throw vssError(
            404,
            'VssResourceNotFoundException',
            `API resource area '${routeSegs[1]}' is not served by ${hostUrl}.`,
            'WebApi',
          );
        return ok(collection(locations));
      }

      const m = matchRoute(this.routes[host], req.method, routeSegs, scope);
      if (!m || 'methodMismatch' in m) {
        this.auth.authenticate(req, orgUrl, hostUrl);
        if (m)
          throw vssError(
            405,
            'HttpException',
            `The requested resource does not support http method '${req.method}'.`,
            'WebApi',
          );
        throw vssError(
          404,
          'HttpException',
          `The controller for path '${req.path}' was not found or does not implement IController.`,
          'WebApi',
        );
      }
      const caller = this.auth.authenticate(req, orgUrl, hostUrl, m.route.options.anonymous === true);
      let project: ProjectState | undefined;
      if (projectKey !== undefined) {
        project = findProject(state, projectKey);
        if (!project)
          throw vssError(404, 'ProjectDoesNotExistWithNameException', TF.projectNotFound(projectKey), 'Core');
      }
      const apiVersion = negotiateVersion(req, m.route.options);
      const ctx: DevOpsCtx = { ...base };
      if (caller) ctx.caller = caller;
      if (project) ctx.project = project;
      const r: Req = { req, res, params: m.params, ctx };
      if (apiVersion) r.apiVersion = apiVersion;
      return m.route.handler(r);
    };
  }
}
