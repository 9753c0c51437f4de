// Issue 38, point 5: the build writes a CycloneDX bill of materials of what the image ships
// (scripts/sbom.mjs, dist/sbom.cdx.json, copied into the image with dist/): the production
// dependencies at their locked versions, none of the development ones, and the native parts npm
// cannot see, librdkafka and the OpenSSL it links.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Kafka from 'node-rdkafka';
import t from 'tap';
import { PROJECT_DIR } from './helpers/fixtures.js';

interface Component {
  name: string;
  version: string;
  description?: string;
}

t.test('the build writes a CycloneDX SBOM with the locked production dependencies and the native parts', async (t) => {
  const sbom = JSON.parse(await readFile(path.join(PROJECT_DIR, 'dist/sbom.cdx.json'), 'utf8')) as {
    bomFormat: string;
    components: Component[];
  };
  t.equal(sbom.bomFormat, 'CycloneDX');
  const lock = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const version = (name: string) => sbom.components.find((c) => c.name === name)?.version;
  for (const name of ['pg', 'pino', 'piscina', '@prisma/client', '@prisma/adapter-pg', 'prom-client'])
    t.equal(version(name), lock.packages[`node_modules/${name}`]?.version, `${name} at its locked version`);
  t.equal(version('node-rdkafka'), lock.packages['node_modules/node-rdkafka']?.version, 'the binding');
  for (const name of ['tap', 'typescript', 'eslint', '@biomejs/biome', 'esbuild'])
    t.equal(version(name), undefined, `${name}, a development tool, is not shipped`);
  t.equal(version('librdkafka'), Kafka.librdkafkaVersion, 'librdkafka, as the binding was built');
  const openssl = sbom.components.find((c) => c.name === 'openssl');
  t.match(openssl?.description, /libssl\.so\.3/, 'the OpenSSL librdkafka links, by file');
  t.match(openssl?.version, /^3\./, `and its version (${openssl?.version})`);
  const dockerfile = await readFile(path.join(PROJECT_DIR, 'Dockerfile'), 'utf8');
  t.match(dockerfile, /COPY scripts\/[^\n]*\bsbom\.mjs\b/, 'the image build has the script that writes it');
});
