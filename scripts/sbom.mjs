// Writes dist/sbom.cdx.json, the bill of materials of what the image ships: npm's CycloneDX SBOM
// of the production dependencies (npm sbom), with the native parts npm cannot see added as
// components: librdkafka, built from source into the binding, and the OpenSSL it links, which is
// the system's libssl (in the image, Debian's libssl3 package). The build runs it; dist/ goes
// into the image with it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args) =>
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 })
    .toString()
    .trim();

const sbom = JSON.parse(run('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev']));
const require = createRequire(import.meta.url);
const bindingDir = path.dirname(require.resolve('node-rdkafka/package.json'));
const { librdkafkaVersion, features } = require('node-rdkafka');
sbom.components.push({
  type: 'library',
  name: 'librdkafka',
  version: librdkafkaVersion,
  purl: `pkg:github/confluentinc/librdkafka@v${librdkafkaVersion}`,
  description: `built from source into the node-rdkafka binding (features: ${features.join(', ')})`,
});
const openssl = linkedOpenssl(path.join(bindingDir, 'build', 'deps', 'librdkafka.so.1'));
if (openssl) sbom.components.push(openssl);
writeFileSync(path.join(root, 'dist', 'sbom.cdx.json'), `${JSON.stringify(sbom, null, 2)}\n`);

/** The libssl librdkafka links, and its version as the system's package manager has it. */
function linkedOpenssl(library) {
  let file;
  try {
    file = /libssl\.so\.\S+ => (\S+)/.exec(run('ldd', [library]))?.[1];
  } catch {
    return undefined;
  }
  if (!file) return undefined;
  let version = 'unknown';
  let from = 'the system';
  // With a merged /usr, dpkg knows /lib's files under /usr/lib.
  for (const candidate of [file, `/usr${file}`]) {
    try {
      const owner = run('dpkg-query', ['-S', candidate]).split(': ')[0];
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
      version = run('dpkg-query', ['-W', '-f=${Version}', owner]);
      from = `Debian package ${owner}`;
      break;
    } catch {
      // Not this path, or not a Debian system: the file is named, its version may not be known.
    }
  }
  return {
    type: 'library',
    name: 'openssl',
    version,
    description: `the libssl librdkafka links: ${file}, from ${from}`,
  };
}
