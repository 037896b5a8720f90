/**
 * FluxOidcProvision@1: inputs -> common/provision/run.ts -> report.
 */
import { runTask, versionOf } from '../common/pipeline/task';
import { provision } from '../common/provision/run';
import { readProvisionInputs } from './inputs';
import taskJson from './task.json';

const version = versionOf(taskJson);

void runTask({
  name: 'FluxOidcProvision',
  version,
  readInputs: readProvisionInputs,
  run: (ctx, inputs) => provision(ctx, inputs, { userAgent: `FluxOidcProvision/${version}` }),
});
