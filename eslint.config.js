// The TypeScript linter: ESLint's and typescript-eslint's recommended rules over the sources, tests and
// benchmarks. Generated files are not linted (their generators are). A rule switched off here says why.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'index.js', 'index.d.ts', 'src/generated/', 'npm/', 'node_modules/', '.cache/', '**/target/', 'test/interop/quic-go-perf/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // `_name` marks a binding kept on purpose (a destructured field left out, an unused parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tests read JSON output and fixtures of known shape as `any`; their assertions check that shape
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // scripts and configuration run by Node
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
