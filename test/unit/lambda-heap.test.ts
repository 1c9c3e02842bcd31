import { describe, expect, it } from 'vitest';
import { lambdaHeap, lambdaWorkerLimits } from '../../local/lambda-heap.ts';

describe('lambdaHeap', () => {
  it("gives the young generation a tenth of the memory and the old one the rest, as Lambda's bootstrap does", () => {
    // The bootstrap of nodejs runtimes at 256 MB: --max-semi-space-size=12 --max-old-space-size=231.
    expect(lambdaHeap(256)).toEqual({ semiSpaceMb: 12, oldSpaceMb: 231 });
    expect(lambdaHeap(1769)).toEqual({ semiSpaceMb: 88, oldSpaceMb: 1593 });
  });

  it('turns that into worker-thread limits with a young generation of three semi-spaces', () => {
    expect(lambdaWorkerLimits(256)).toEqual({ maxOldGenerationSizeMb: 231, maxYoungGenerationSizeMb: 36 });
  });
});
