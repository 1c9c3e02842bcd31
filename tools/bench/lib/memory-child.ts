/**
 * Child process of the memory benchmark (bundled first, so that no TypeScript loader adds to its memory):
 * the per-record setup of section 2 for a number of batches, then its peak RSS over IPC.
 */
import { createAssociateHandler } from '../../../src/service/associate.ts';
import { fakeAws } from './fakes.ts';
import { cleanBatch, lambdaContext } from './records.ts';

export interface FakesChildResult {
  rssAfterSetupBytes: number;
  maxRssBytes: number;
  heapUsedBytes: number;
}

const batches = Number(process.argv[2] ?? '100');
const fake = fakeAws();
const handler = createAssociateHandler(fake.deps);
const rssAfterSetupBytes = process.resourceUsage().maxRSS * 1024;
for (let index = 0; index < batches; index += 1) {
  const response = await handler(cleanBatch(), lambdaContext());
  if (response.batchItemFailures.length > 0) throw new Error('a clean batch failed');
  fake.deps.metrics.publishStoredMetrics();
}
const result: FakesChildResult = {
  rssAfterSetupBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  heapUsedBytes: process.memoryUsage().heapUsed,
};
process.send?.(result, () => process.exit(0));
