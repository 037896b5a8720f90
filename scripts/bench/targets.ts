/**
 * The targets the table shows beside each figure (issue 15), matched on the row's metric. A new
 * benchmark adds its target here (first match wins); rows with none show "-".
 */
export const TARGETS: [RegExp, string][] = [
  [/^\.vsix/, '<= 1.0 MB'],
  [/ cold start$/, '<= 250 ms (<= 2.5x node -e 0)'],
  [/^fresh Provision: calls$/, '<= 25'],
  [/^converged Provision re-run: calls$/, '<= 12'],
  [/^converged Provision re-run: writes$/, '0'],
  [/^converged Verify: calls$/, '<= 30'],
  [/^full chain/, '<= 3 s'],
  [/^manifest patch: \d+ cluster folders/, '<= 2 s'],
  [/^manifest patch: \d+ folders re-run/, '<= 1 s'],
  [/^verify 50 clusters in one step$/, '<= 3x verify 1 cluster'],
  [/^fleet pipeline: \d+ clusters \/ 1 cluster$/, 'reported (ideal 5x: 50 jobs = 5 rounds of 10)'],
  [/peak RSS/, '<= 120 MB, reported'],
];

export function targetOf(metric: string): string {
  return TARGETS.find(([re]) => re.test(metric))?.[1] ?? '-';
}
