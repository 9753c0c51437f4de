// Writes dist/build-info.json: the version and the git commit this build was made from, for the
// supervisor's zipbank_build_info metric. The commit comes from GIT_COMMIT (the image build passes
// it: the build context has no .git), else from git itself, else 'unknown'.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
let commit = process.env.GIT_COMMIT?.trim() || 'unknown';
if (commit === 'unknown') {
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    // Not a git checkout: the commit stays unknown.
  }
}
writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify({ version, commit })}\n`);
