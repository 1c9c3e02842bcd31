/**
 * The V8 heap Lambda's Node.js bootstrap gives a function of `memoryMb`: a tenth of the memory for the young
 * generation (`--max-semi-space-size`, two semi-spaces), the rest for the old one (`--max-old-space-size`).
 */
export interface LambdaHeap {
  semiSpaceMb: number;
  oldSpaceMb: number;
}

export function lambdaHeap(memoryMb: number): LambdaHeap {
  const youngMb = Math.floor(memoryMb / 10);
  return { semiSpaceMb: Math.floor(youngMb / 2), oldSpaceMb: memoryMb - youngMb };
}

/** The same heap as a worker thread's resource limits; V8 sizes a young generation at three semi-spaces. */
export function lambdaWorkerLimits(memoryMb: number): {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
} {
  const heap = lambdaHeap(memoryMb);
  return { maxOldGenerationSizeMb: heap.oldSpaceMb, maxYoungGenerationSizeMb: 3 * heap.semiSpaceMb };
}
