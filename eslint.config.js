// ESLint flat config. `npm run lint` runs ESLint and then `prettier --check`: layout is Prettier's
// alone, and eslint-config-prettier (last below) turns off every ESLint rule that could disagree.
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import prettier from 'eslint-config-prettier/flat'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'bench/results/']),

  // Plain JavaScript: bench/ (.mjs, run by Node as is) and this file. No type information.
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },

  // TypeScript under src/ and test/, with the type-aware rules (types from tsconfig.json).
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Fastify plugins, route handlers and hooks are async by contract (the promise's value is the
      // reply, or the signal that registration is done) whether or not they await anything, and test
      // callbacks match async signatures the same way: dropping `async` there would change behaviour.
      '@typescript-eslint/require-await': 'off',
      // tsc's convention (noUnusedParameters): a leading underscore marks a deliberately unused name.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // Beyond the recommended set, three that catch real bugs and cost nothing today:
      // a switch over a union that misses a member,
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `return promise` inside try, which skips that try's catch/finally,
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // and Node/Fastify APIs marked @deprecated (they are the ones that break on a newer Node line).
      '@typescript-eslint/no-deprecated': 'error',
    },
  },

  // Tests read HTTP response bodies through light-my-request's res.json(), typed `any`, and assert on
  // them field by field: the assertions are the check. The no-unsafe-* family would flag every such
  // access (about 350 sites) without finding bugs. They stay on in src/, where untyped data must not
  // reach the store.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // The same goes for the getJson helpers of the process tests: they return the parsed body
      // as res.json() does, `any`, and the assertions that follow are the check.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  {
    rules: {
      // `catch {}` (no binding) is the deliberate "best effort" idiom here, e.g. killing a child process
      // that may already have exited. Other empty blocks are still reported.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },

  prettier,
)
