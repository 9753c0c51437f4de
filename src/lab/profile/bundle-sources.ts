// Which source file a position in a bundled script comes from, read from the script's source map
// (the worker bundle has one: scripts/bundle-worker.mjs), so that a profile of the minified
// bundle still names the ingester's folders and the libraries.
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceOf } from './cost-split.js';

export function bundleSources(): SourceOf {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  const load = (url: string) => {
    let entry = maps.get(url);
    if (entry !== undefined) return entry;
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    try {
      const map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
      entry = { map, dir: path.dirname(file) };
    } catch {
      entry = null; // a script without a map: its own path says what it is
    }
    maps.set(url, entry);
    return entry;
  };
  return (url, line, column) => {
    const entry = load(url);
    if (!entry) return undefined;
    // perf's positions count from 1, the map's from 0.
    const found = entry.map.findEntry(line - 1, column - 1) as { originalSource?: string };
    if (!found.originalSource) return undefined;
    const source = found.originalSource.startsWith('file:')
      ? fileURLToPath(found.originalSource)
      : found.originalSource;
    return path.resolve(entry.dir, source);
  };
}
