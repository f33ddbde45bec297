/** Reads a V8 `.cpuprofile` (node --cpu-prof) into self and inclusive times per function and per package. */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}

export interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface FrameTime {
  /** `name (where:line)`. */
  readonly frame: string;
  /** Share of the samples that were not idle, in percent. */
  readonly selfPercent: number;
  readonly inclusivePercent: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idlePercent: number;
  /** Where the busy time went, by owner: `sluice src/…`, `ioredis`, `node internals`, `GC`, …. */
  readonly byOwner: { readonly owner: string; readonly selfPercent: number }[];
  readonly topSelf: FrameTime[];
  /** Inclusive time of the named functions (sluice's own phases and parsers). */
  readonly inclusive: FrameTime[];
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  const repo = url.search(/\/(src|bench|functions|test)\//);
  if (repo !== -1) return url.slice(repo + 1);
  return url.replace(/^file:\/\//, '');
}

function ownerOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)' || functionName === '(idle)') return functionName;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  const repo = /\/(src\/[^/]+|bench|functions|test)\//.exec(url);
  if (repo) return repo[1] === 'bench' ? 'bench (the harness)' : `sluice ${repo[1]}`;
  if (url.startsWith('node:') || url === '') return 'node internals';
  return url;
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  // tsx strips line breaks: a column tells anonymous functions apart there.
  const where =
    frame.lineNumber > 0
      ? `:${frame.lineNumber + 1}`
      : frame.functionName
        ? ''
        : ` col ${frame.columnNumber}`;
  return `${name} (${shortUrl(frame.url)}${where})`;
}

export function summarise(profile: CpuProfile, inclusiveOf: readonly string[], top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') idleUs += us;
    else busyUs += us;
  }
  const percent = (us: number) => Number(((100 * us) / busyUs).toFixed(1));

  const selfByFrame = new Map<string, number>();
  const selfByOwner = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)') continue;
    selfByFrame.set(frameName(frame), (selfByFrame.get(frameName(frame)) ?? 0) + us);
    selfByOwner.set(ownerOf(frame), (selfByOwner.get(ownerOf(frame)) ?? 0) + us);
  }

  // Inclusive time per frame: each node's subtree, counted once per frame even under recursion.
  const wanted = new Set(inclusiveOf);
  const inclusiveByFrame = new Map<string, number>();
  const walk = (id: number, open: Set<string>): number => {
    const node = byId.get(id) as ProfileNode;
    let sum = selfUs.get(id) ?? 0;
    const name = frameName(node.callFrame);
    const counts = wanted.has(node.callFrame.functionName) && !open.has(name);
    if (counts) open.add(name);
    for (const child of node.children ?? []) sum += walk(child, open);
    if (counts) {
      open.delete(name);
      inclusiveByFrame.set(name, (inclusiveByFrame.get(name) ?? 0) + sum);
    }
    return sum;
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, new Set());

  return {
    busyMs: Math.round(busyUs / 1000),
    idlePercent: Number(((100 * idleUs) / (idleUs + busyUs)).toFixed(1)),
    byOwner: [...selfByOwner]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, us]) => ({ owner, selfPercent: percent(us) })),
    topSelf: [...selfByFrame]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({ frame, selfPercent: percent(us), inclusivePercent: Number.NaN })),
    inclusive: [...inclusiveByFrame]
      .sort((a, b) => b[1] - a[1])
      .map(([frame, us]) => ({
        frame,
        selfPercent: percent(selfByFrame.get(frame) ?? 0),
        inclusivePercent: percent(us),
      })),
  };
}
