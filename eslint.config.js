// Lint rules, including the layer rules of DESIGN.md 2: shared/ imports nothing of the others and
// no Node or DOM; renderer/ imports no electron, no node:*, no main/; main/ imports no renderer/;
// the engine and the Node hosts never import electron.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
const restrict = (paths, patterns) => ['error', { paths: paths.map((name) => ({ name, message: 'Not allowed in this layer (DESIGN.md 2).' })), patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-results/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.mjs', 'test/**/*.{ts,mjs}', '*.config.{js,ts}', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(['electron', 'react', ...nodeBuiltins], [{ group: ['**/main/**', '**/renderer/**', 'node:*'], message: 'shared/ imports nothing of the other layers and no Node (DESIGN.md 2).' }]),
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': restrict(['electron', ...nodeBuiltins], [{ group: ['**/main/**', 'node:*'], message: 'renderer/ imports no electron, no Node, no main/ (DESIGN.md 2).' }]),
    },
  },
  {
    files: ['main/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': restrict([], [{ group: ['**/renderer/**'], message: 'main/ imports no renderer/ (DESIGN.md 2).' }]),
    },
  },
  {
    files: ['main/engine/**/*.ts', 'main/host/**/*.ts', 'main/web/**/*.ts', 'main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(['electron'], [{ group: ['**/renderer/**', 'electron/*'], message: 'The engine and the Node hosts never import electron (DESIGN.md 2).' }]),
    },
  },
);
