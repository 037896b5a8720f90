/** Sizes: the .vsix and each task's bundle (what an agent downloads and what node loads). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { BenchEntry } from './types';

export const vsixSize: BenchEntry = {
  name: 'vsix size',
  async run(ctx) {
    const vsix = fs.readdirSync(ctx.dist).filter((f) => f.endsWith('.vsix'));
    if (vsix.length !== 1)
      throw new Error(`expected one .vsix in ${ctx.dist}, found ${vsix.length}: run npm run package`);
    return [{ metric: `.vsix (${vsix[0]})`, value: fs.statSync(path.join(ctx.dist, vsix[0])).size, unit: 'bytes' }];
  },
};

export const bundleSizes: BenchEntry = {
  name: 'bundle sizes',
  async run(ctx) {
    return ctx.taskDirs.map((dir) => {
      const task = JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8')) as {
        execution: { Node20_1: { target: string } };
      };
      const bundle = fs.readFileSync(path.join(dir, task.execution.Node20_1.target));
      return {
        metric: `${path.basename(dir)} bundle`,
        value: bundle.length,
        unit: 'bytes' as const,
        detail: `gzip -9: ${(zlib.gzipSync(bundle, { level: 9 }).length / 1024).toFixed(0)} KB`,
      };
    });
  },
};
