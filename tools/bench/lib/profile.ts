import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  share: number;
}

/** The package a frame belongs to (`@scope/name`), the repository file, or what V8 calls it. */
function ownerOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame;
  if (url.includes('node_modules/')) {
    const inPackage = url.split('node_modules/').at(-1) ?? url;
    return inPackage
      .split('/')
      .slice(0, inPackage.startsWith('@') ? 2 : 1)
      .join('/');
  }
  if (url.startsWith(root)) return url.slice(root.length);
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:');
  if (functionName.startsWith('(')) return functionName;
  return `native ${functionName || '(anonymous)'}`;
}

/**
 * Samples the CPU while `work` runs, in this process, and returns the share of self time per package or
 * source file: where the time of a measured loop goes.
 */
export async function profileShares(work: () => Promise<void>, top = 10): Promise<ProfileShare[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await work();
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    const root = new URL('../../../', import.meta.url).href;
    const owners = new Map(profile.nodes.map((node) => [node.id, ownerOf(node.callFrame, root)]));
    const totals = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, index) => {
      const owner = owners.get(id) ?? 'unknown';
      // The profiler's own session traffic runs on this thread too.
      if (owner === '(idle)' || owner === '(program)' || owner === 'node:inspector') return;
      const delta = profile.timeDeltas[index] ?? 0;
      totals.set(owner, (totals.get(owner) ?? 0) + delta);
      total += delta;
    });
    return [...totals]
      .map(([name, time]) => ({ name, share: time / total }))
      .sort((a, b) => b.share - a.share)
      .slice(0, top);
  } finally {
    session.disconnect();
  }
}
