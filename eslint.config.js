// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.staging/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': 'off',
    },
  },
  {
    // The layer rule from DESIGN.md: nothing below the engine knows Discord exists.
    // src/console is the second adapter: that it needs no Discord code shows the engine is neutral.
    files: ['src/engine/**', 'src/host/**', 'src/store/**', 'runbooks/**', 'src/console/**', 'src/doctor.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['discord.js', '@discordjs/*', '**/discord/**'], message: 'Below the engine nothing may import Discord code (DESIGN.md).' }],
      }],
    },
  },
);
