/**
 * The job's `System.OidcRequestUri`
 * (`{collection}{projectId}/_apis/distributedtask/hubs/{hub}/plans/{planId}/jobs/{jobId}/oidctoken`):
 * answers `{oidcToken}` for the job's System.AccessToken, signed by the Azure DevOps issuer
 * (issuer.ts): sub `sc://{org}/{project}/{connection}`, aud `api://AzureADTokenExchange`, 10 minutes.
 */
import { TF, vssError } from './errors';
import { jsonBody, ok, query, route } from './http';
import { sameId } from './identity';
import { who, type DevOpsRoute, type Req } from './service';

function oidcToken(r: Req) {
  const s = r.ctx.state;
  const caller = who(r);
  const project = r.ctx.project!;
  if (caller.via !== 'system' || !caller.job) {
    throw vssError(
      401,
      'UnauthorizedRequestException',
      `${TF.notAuthorized(r.ctx.orgUrl)} The oidctoken endpoint takes the job's System.AccessToken.`,
    );
  }
  const { planId, jobId, hub } = r.params as { planId: string; jobId: string; hub: string };
  if (
    !sameId(caller.job.planId, planId) ||
    !sameId(caller.job.projectId, project.id) ||
    !['build', 'release'].includes(hub.toLowerCase())
  ) {
    throw vssError(
      404,
      'TaskOrchestrationPlanNotFoundException',
      `Plan with id ${planId} could not be found for hub ${hub} in project ${project.name}.`,
      'DistributedTask',
    );
  }
  if (!sameId(caller.job.jobId, jobId)) {
    throw vssError(
      404,
      'TaskOrchestrationJobNotFoundException',
      `Job with id ${jobId} could not be found in plan ${planId}.`,
      'DistributedTask',
    );
  }
  if (r.req.text().trim()) jsonBody(r.req, 'claims');
  const scId = query(r.req, 'serviceConnectionId');
  if (!scId)
    throw vssError(
      400,
      'ArgumentNullException',
      'Value cannot be null. Parameter name: serviceConnectionId. Pass the id of the Azure Resource Manager service connection.',
      'DistributedTask',
    );
  const sc = s.serviceConnections.find((c) => sameId(c.id, scId) && sameId(c.projectId, project.id));
  if (!sc)
    throw vssError(404, 'ServiceEndpointNotFoundException', TF.serviceConnectionNotFound(scId), 'DistributedTask');
  if (sc.authorizationScheme !== 'WorkloadIdentityFederation') {
    throw vssError(
      400,
      'InvalidServiceEndpointException',
      `Service connection '${sc.name}' (${sc.id}) uses ${sc.authorizationScheme}, not workload identity federation; no OIDC token can be issued for it.`,
      'DistributedTask',
    );
  }
  const fault = s.faults?.oidcToken;
  if (fault) throw vssError(fault.status, 'DistributedTaskException', fault.message, 'DistributedTask');
  const token = r.ctx.svc.issuer.sign(`sc://${s.organization.name}/${project.name}/${sc.name}`);
  return ok({ oidcToken: token }, 200, false);
}

export const oidcRoutes: DevOpsRoute[] = [
  route('POST', '_apis/distributedtask/hubs/:hub/plans/:planId/jobs/:jobId/oidctoken', { scope: 'project' }, oidcToken),
];
