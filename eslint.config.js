import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // JavaScript files sit outside tsconfig.json (no allowJs): the project service gives them a default project.
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'scripts/build/*.mjs', 'test/training/scripts/*.mjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@actions/core', message: 'Only src/actions/* and src/runtime/* talk to the runner.' }],
        },
      ],
    },
  },
  {
    files: ['src/actions/**', 'src/runtime/**', 'test/**', 'scripts/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Plain JavaScript (the build and docs scripts) has no type annotations, so every value the
    // type checker cannot infer is `any`: the no-unsafe-* rules would flag each use of one. The other
    // type-aware rules (floating promises, misused promises, await of non-promises) still apply.
    files: ['**/*.js', '**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Test fakes and stand-ins implement the async interfaces of the real parts (an engine, a
    // registry, Traefik) and often answer at once: an async method without an await is how they
    // keep the real signature, so require-await is noise there.
    // Also, vitest types its asymmetric matchers (expect.stringMatching, expect.objectContaining,
    // expect.closeTo) as `any`, so no-unsafe-assignment fires on every expected object that uses
    // one; an `any` from elsewhere (JSON.parse) is still caught where it is used, by the other
    // no-unsafe-* rules.
    files: ['test/**', 'server/test/**'],
    rules: { '@typescript-eslint/require-await': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);
