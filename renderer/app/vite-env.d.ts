// Vite's build-time helpers used by the renderer (only the parts we use; no vite/client types so
// the renderer's tsconfig keeps `types: []`).
interface ImportMeta {
  glob<Module = unknown>(pattern: string | string[], options?: { eager?: false; import?: string }): Record<string, () => Promise<Module>>;
}

