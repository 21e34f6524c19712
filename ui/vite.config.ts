import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is served by the api at /ui from dist/ui, beside the built daemons.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
