// electron-builder.yml parses, passes electron-builder's own schema, burns the security fuses, and
// ships what the engine needs (bundles, the sql.js wasm, the demo workspace as a resource).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load: (text: string) => unknown };
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface BuilderConfig {
  appId: string;
  productName: string;
  files: string[];
  asarUnpack: string[];
  extraResources: Array<{ from: string; to: string }>;
  electronFuses: Record<string, boolean>;
  linux: { target: string[]; maintainer?: string };
  win: { target: string[] };
  mac: { target: string[] };
}

const config = yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

describe('electron-builder.yml', () => {
  it('passes electron-builder’s configuration schema', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration: (config: unknown, logger: { isEnabled: boolean; add: () => void }) => Promise<void>;
    };
    await expect(validateConfiguration(config, { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
  });

  it('names the app', () => {
    expect(config.appId).toBe('dev.eddy.workbench');
    expect(config.productName).toBe('Eddy');
  });

  it('builds AppImage and deb, NSIS, and dmg', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.linux.maintainer).toBeTruthy();
    expect(config.win.target).toEqual(['nsis']);
    expect(config.mac.target).toEqual(['dmg']);
  });

  it('burns the fuses that close RunAsNode, NODE_OPTIONS and inspect flags', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('ships an explicit file list with the bundles and the sql.js wasm', () => {
    expect(config.files).toEqual(
      expect.arrayContaining(['dist/**', 'package.json', 'node_modules/sql.js/dist/sql-wasm.wasm', 'node_modules/sql.js/dist/sql-wasm.js']),
    );
    expect(config.files).not.toContain('**/*');
    expect(config.asarUnpack).toContain('node_modules/sql.js/dist/sql-wasm.wasm');
  });

  it('does not exclude the sql.js files the engine loads', () => {
    const exclusion = config.files.find((pattern) => pattern.startsWith('!node_modules/sql.js/'));
    expect(exclusion).toBeDefined();
    const alternatives = /\{(.*)\}/.exec(exclusion ?? '')?.[1]?.split(',') ?? [];
    const toRegExp = (glob: string): RegExp => new RegExp(`^${glob.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    for (const kept of ['sql-wasm.js', 'sql-wasm.wasm']) {
      for (const glob of alternatives) expect(toRegExp(glob).test(kept), `${glob} vs ${kept}`).toBe(false);
    }
    for (const dropped of ['sql-asm.js', 'sql-wasm-debug.wasm', 'sql-wasm-browser.js', 'worker.sql-wasm.js', 'sqljs-all.zip']) {
      expect(alternatives.some((glob) => toRegExp(glob).test(dropped)), dropped).toBe(true);
    }
  });

  it('copies the demo workspace to resources/demo, the folder the engine gets as EDDY_RESOURCES', () => {
    expect(config.extraResources).toEqual([expect.objectContaining({ from: 'demo', to: 'demo' })]);
  });
});
