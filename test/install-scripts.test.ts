// Issue 38, point 4: the packages allowed to run install scripts are named in package.json's
// allowScripts, so that an install runs exactly those and warns about nothing. A new dependency
// that brings an install script nobody reviewed fails here, by name, before it reaches an image.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PROJECT_DIR } from './helpers/fixtures.js';

const execFileAsync = promisify(execFile);

t.test('every installed package with an install script is declared in allowScripts', async (t) => {
  const { stdout } = await execFileAsync('npm', ['install-scripts', 'ls', '--json'], { cwd: PROJECT_DIR });
  const listed = JSON.parse(stdout) as { allowScripts: { name: string; changes: { key: string; change: string }[] }[] };
  t.same(
    listed.allowScripts.flatMap((p) => p.changes.map((c) => `${c.key} (${c.change})`)),
    [],
    'no install script is left unreviewed: review it, then npm install-scripts approve <pkg> (or deny)',
  );
  const manifest = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  t.same(
    Object.keys(manifest.allowScripts ?? {}).sort(),
    ['@platformatic/rdkafka', '@prisma/engines', 'esbuild', 'prisma'],
    'the four packages whose scripts the build needs, and no others',
  );
});
