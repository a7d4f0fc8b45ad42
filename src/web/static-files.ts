// The front end's files, read once at start-up and served from memory. Our own files sit in
// static/ beside this module (scripts/build-web.mjs copies them, with uPlot from node_modules,
// into dist/src/web/static/ at build time); run from the sources (tests), uPlot is read from
// node_modules directly.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LarsError } from '../errors.js';
import type { WebReply } from './http.js';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** URL path → file name, for our own files (static/) and uPlot's (static/vendor/). */
export const OWN_FILES = ['app.js', 'app.css'] as const;
export const VENDOR_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'] as const;

function vendorPath(staticDir: string, name: string): string {
  const built = `${staticDir}vendor/${name}`;
  if (existsSync(built)) return built;
  try {
    return createRequire(import.meta.url).resolve(`uplot/dist/${name}`);
  } catch {
    throw new LarsError('ERR_CONFIG', `the web admin's chart library (${name}) is missing: run "npm install" (it installs uplot and copies it at build time)`);
  }
}

/** Loads every static file; throws at start-up, not on first request, when one is missing. */
export function loadStaticFiles(staticDir = fileURLToPath(new URL('./static/', import.meta.url))): ReadonlyMap<string, WebReply> {
  const files = new Map<string, WebReply>();
  const add = (url: string, file: string): void => {
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (err) {
      throw new LarsError('ERR_CONFIG', `the web admin's file ${file} cannot be read (${(err as Error).message}): run "npm run build", which copies the front end`);
    }
    files.set(url, { status: 200, headers: { 'content-type': type, 'cache-control': 'no-cache' }, body });
  };
  for (const name of OWN_FILES) add(`/static/${name}`, `${staticDir}${name}`);
  for (const name of VENDOR_FILES) add(`/static/vendor/${name}`, vendorPath(staticDir, name));
  return files;
}
