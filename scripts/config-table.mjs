// Writes the supervisor's settings table (src/config/settings.ts, as built into dist/) into the
// README between its markers: npm run docs:config. test/config.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settingsMarkdown } from '../dist/config/settings.js';

const readme = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
const text = readFileSync(readme, 'utf8');
const start = text.indexOf('\n', text.indexOf('<!-- settings table:')) + 1;
const end = text.indexOf('<!-- end of settings table -->');
if (start <= 0 || end < start) throw new Error('README.md: the settings table markers are missing');
writeFileSync(readme, `${text.slice(0, start)}${settingsMarkdown()}\n${text.slice(end)}`);
