// Builds the renderer (React) into dist/renderer. Relative base so the same build loads from the
// desktop app's custom protocol and from web mode's server.
import { defineConfig } from 'vite';
import path from 'node:path';

export default defineConfig({
  root: path.resolve(__dirname, 'renderer'),
  base: './',
  publicDir: false,
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: path.resolve(__dirname, 'dist/renderer'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    target: 'chrome120',
  },
});
