/**
 * The benchmarks `npm run bench` runs, in table order. To add one, write a module under
 * scripts/bench/ that exports a BenchEntry and append it here (its target goes in targets.ts).
 */
import { calls } from './calls';
import { chain } from './chain';
import { coldStart } from './cold-start';
import { fleetPipeline } from './fleet-pipeline';
import { fleetVerify } from './fleet-verify';
import { manifestPatch } from './manifest-patch';
import { bundleSizes, vsixSize } from './sizes';
import type { BenchEntry } from './types';

export const benchmarks: BenchEntry[] = [
  vsixSize,
  bundleSizes,
  coldStart,
  calls,
  chain,
  manifestPatch,
  fleetVerify,
  fleetPipeline,
];
