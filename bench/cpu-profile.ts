import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A `.cpuprofile` (what `node --cpu-prof` writes) reduced to self time per function: each sample
 * lasts until the next one (the last until `endTime`), as Chrome DevTools counts it; samples outside
 * `window` (microseconds on the profile's own clock, which is process.hrtime's) are left out, so
 * start-up and warm-up do not count. Frames in our bundles (dist/*.js) are mapped through their
 * source maps to the TypeScript file and line; npm packages stay external, so their paths are real
 * (and their own source maps are not followed).
 */
interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  /** file:line (1-based) relative to the repository, '(native)' for V8 and C++ frames. */
  readonly location: string;
  readonly percent: number;
}

export interface ProfileSummary {
  /** Sampled time inside the window, in ms. */
  readonly sampledMs: number;
  /** The `top` functions by self time, V8's pseudo-frames left out. */
  readonly top: readonly SelfTime[];
  /** (idle), (garbage collector) and (program), always reported. */
  readonly special: readonly SelfTime[];
}

const SPECIAL = ['(idle)', '(garbage collector)', '(program)'];
const root = fileURLToPath(new URL('../', import.meta.url));
const bundles = fileURLToPath(new URL('../dist/', import.meta.url));

/** Source maps of the bundles a profile points into, loaded once per file. */
class Locations {
  private readonly maps = new Map<string, SourceMap | null>();

  /** `lineNumber` and `columnNumber` are 0-based in a call frame. */
  describe(frame: CallFrame): string {
    if (!frame.url) {
      return '(native)';
    }
    const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
    // An empty object where the map has no entry for the position.
    const entry: Partial<SourceMapping> | undefined = this.map(file)?.findEntry(
      frame.lineNumber,
      frame.columnNumber,
    );
    if (entry?.originalSource && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : entry.originalSource.replace(/^webpack:\/\/[^/]*\/(\.\/)?/, '');
      return `${this.shorten(source)}:${entry.originalLine + 1}`;
    }
    return `${this.shorten(file)}:${frame.lineNumber + 1}`;
  }

  private shorten(file: string): string {
    if (!file.startsWith('/')) {
      return file;
    }
    const inRepository = relative(root, file);
    return inRepository.startsWith('..') ? file : inRepository;
  }

  private map(file: string): SourceMap | null {
    if (!this.maps.has(file)) {
      let map: SourceMap | null = null;
      if (file.startsWith(bundles) && file.endsWith('.js')) {
        try {
          map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
        } catch {
          map = null; // no map (an older build): bundle lines it is
        }
      }
      this.maps.set(file, map);
    }
    return this.maps.get(file)!;
  }
}

export function summarise(
  path: string,
  window: { readonly from: number; readonly to: number } | undefined,
  top = 10,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const stamps: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) {
    at += delta;
    stamps.push(at);
  }
  const locations = new Locations();
  const self = new Map<string, { name: string; location: string; us: number }>();
  let total = 0;
  for (const [index, nodeId] of profile.samples.entries()) {
    const from = stamps[index]!;
    const to = stamps[index + 1] ?? profile.endTime;
    if (window && (from < window.from || from > window.to)) {
      continue;
    }
    const frame = frames.get(nodeId)!;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
    let entry = self.get(key);
    if (!entry) {
      entry = { name, location: locations.describe(frame), us: 0 };
      self.set(key, entry);
    }
    entry.us += to - from;
    total += to - from;
  }
  const percent = (us: number) => (total > 0 ? (100 * us) / total : 0);
  const ranked = [...self.values()].sort((a, b) => b.us - a.us);
  return {
    sampledMs: total / 1000,
    top: ranked
      .filter((e) => !SPECIAL.includes(e.name))
      .slice(0, top)
      .map((e) => ({ name: e.name, location: e.location, percent: percent(e.us) })),
    special: SPECIAL.map((name) => {
      const us = ranked.filter((e) => e.name === name).reduce((sum, e) => sum + e.us, 0);
      return { name, location: '–', percent: percent(us) };
    }),
  };
}
