// The sandbox engines a test runs against: both when isolated-vm loads here, otherwise QuickJS
// alone with a printed reason — and under CI a missing isolated-vm is a failure, never a skip.
import { loadIsolatedVm } from '../../main/engine/transforms/sandbox/isolate-host.js';
import type { SandboxEngine } from '../../main/engine/transforms/sandbox/protocol.js';

export async function sandboxEnginesUnderTest(): Promise<SandboxEngine[]> {
  try {
    await loadIsolatedVm();
    return ['isolate', 'quickjs'];
  } catch (error) {
    const reason = `isolated-vm does not load here (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); run npm install with a C++ toolchain`;
    if (process.env.CI) throw new Error(`CI needs the V8-isolate sandbox: ${reason}`);
    console.warn(`[skip] V8-isolate sandbox tests: ${reason}. Testing the QuickJS sandbox only.`);
    return ['quickjs'];
  }
}
