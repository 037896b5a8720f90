/**
 * FluxOidcVerify@1: inputs -> core -> report. The checks live in common/verify.
 */
import { runTask, versionOf } from '../common/pipeline/task';
import { verifyTask } from '../common/verify/run';
import { readVerifyInputs } from './inputs';
import taskJson from './task.json';

const version = versionOf(taskJson);

void runTask({
  name: 'FluxOidcVerify',
  version,
  readInputs: readVerifyInputs,
  run: async (ctx, inputs) => {
    await verifyTask(ctx, inputs, { userAgent: `FluxOidcVerify/${version}` });
  },
});
