/**
 * FluxOidcProvision@1: inputs -> core -> report. Everything else lives in common/ and core.ts.
 */
import { runTask, versionOf } from '../common/pipeline/task';
import { provision } from './core';
import { readProvisionInputs } from './inputs';
import taskJson from './task.json';

const version = versionOf(taskJson);

void runTask({
  name: 'FluxOidcProvision',
  version,
  readInputs: readProvisionInputs,
  run: (ctx, inputs) => provision(ctx, inputs, { userAgent: `FluxOidcProvision/${version}` }),
});
