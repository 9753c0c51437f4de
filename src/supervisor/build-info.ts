// What this process is: the release and commit it was built from (dist/build-info.json, written
// by the build), and the Node and librdkafka versions it runs, for zipbank_build_info.
import { readFileSync } from 'node:fs';
import { librdkafkaVersion } from '../kafka/librdkafka-version.js';

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
  librdkafka: string;
}

export function buildInfo(): BuildInfo {
  let built: { version?: string; commit?: string } = {};
  try {
    built = JSON.parse(readFileSync(new URL('../build-info.json', import.meta.url), 'utf8')) as typeof built;
  } catch {
    // Run from source (the tests): no build, so neither version nor commit is known.
  }
  return {
    version: built.version ?? 'unknown',
    commit: built.commit ?? 'unknown',
    node: process.version,
    librdkafka: librdkafkaVersion(),
  };
}
