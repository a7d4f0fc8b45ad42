#!/usr/bin/env node
// Build step of the web admin's front end: copies src/web/static/ (our own JS and CSS) and
// uPlot's browser build from node_modules into dist/src/web/static/, so the running admin needs
// no CDN and no access to node_modules for its assets.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const from = join(root, 'src', 'web', 'static');
const to = join(root, 'dist', 'src', 'web', 'static');
mkdirSync(join(to, 'vendor'), { recursive: true });
for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));

const require = createRequire(import.meta.url);
const uplotDir = dirname(require.resolve('uplot/package.json'));
for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(uplotDir, 'dist', name), join(to, 'vendor', name));
copyFileSync(join(uplotDir, 'LICENSE'), join(to, 'vendor', 'uPlot.LICENSE'));
