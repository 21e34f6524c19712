import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { ErrorCode, FerryError } from '../../../shared/errors.js';
import { sendError } from './errors.js';

/** Where `npm run build` puts the dashboard: `dist/ui`, three folders up from this built file. */
export const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../ui');

/** Files under assets/ carry a hash of their content in their name: a year's caching is safe. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/**
 * The web dashboard at `/ui`: the built files, then `index.html` for any other path below it
 * (the page routes itself). The files hold no data, so they are open to anyone; every API call the
 * page makes needs a key. `index.html` is revalidated each time so a new build is seen at once.
 */
export function uiRoutes(dir = uiDir): Router {
  const r = Router();
  const index = path.join(dir, 'index.html');
  r.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: ASSET_MAX_AGE_MS, index: false }), (req, res) => {
    sendError(res, new FerryError(ErrorCode.NOT_FOUND, `no dashboard file ${req.originalUrl}`));
  });
  r.use(express.static(dir, { index: false, maxAge: 0 }));
  r.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!existsSync(index)) return sendError(res, new FerryError(ErrorCode.NOT_FOUND, 'the dashboard is not built: run `npm run build`'));
    res.sendFile(index, { headers: { 'cache-control': 'no-cache' } });
  });
  return r;
}
