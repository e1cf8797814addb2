// Vite's import suffixes used by the transforms feature: `?worker` gives a Worker constructor
// (bundled as its own file, loaded from the app's origin, so no 'unsafe-eval' or blob: is needed).
declare module '*?worker' {
  const WorkerFactory: new (options?: { name?: string }) => Worker;
  export default WorkerFactory;
}
