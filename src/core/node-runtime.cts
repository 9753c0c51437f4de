// The Node line the ingester ships on and every test runs on: 24 (docs/deploy.md says why). The
// librdkafka binding is compiled for one Node ABI, so an older `node` fails deep in a module
// load; the entries ask here first and refuse with one line that says how to run it instead.
// CommonJS, so that an entry (CommonJS or ES module) can run it before anything else loads.
import path from 'node:path';

export const REQUIRED_NODE_MAJOR = 24;

/** The line to print when `version` cannot run the ingester; undefined when it can. */
export function olderNodeProblem(
  version: string,
  script: string | undefined,
  args: readonly string[],
): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= REQUIRED_NODE_MAJOR) return undefined;
  const name = path.basename(script ?? '');
  const npm = name.startsWith('cli') ? 'npm run cli --' : 'npm start --';
  const rest = args.length > 0 ? ` ${args.join(' ')}` : '';
  return `zipbank: this is Node ${version}; the ingester runs on Node ${REQUIRED_NODE_MAJOR} (the runtime its image ships and its tests run on). In this project run \`${npm}${rest}\` (npm puts the project's Node ${REQUIRED_NODE_MAJOR} first), or node_modules/.bin/node ${path.join('dist', name)}${rest}`;
}

/** Ends the process with that line (exit 2, a setup to fix) on an older Node. */
export function refuseOlderNode(): void {
  const problem = olderNodeProblem(process.versions.node, process.argv[1], process.argv.slice(2));
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
