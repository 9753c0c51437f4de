// Type-aware lint with TypeScript's own checker (npm run lint), beside Biome, which formats and
// runs the syntactic rules: only rules that need types are here, so the two never disagree.
// The product must not let `any` spread; tests read JSON and YAML documents as `any` on purpose,
// so for them only the promise rules apply.
import tseslint from 'typescript-eslint';

const promiseRules = {
  '@typescript-eslint/no-floating-promises': [
    'error',
    // tap runs a file's top-level t.test() calls itself; nothing awaits them.
    { allowForKnownSafeCalls: [{ from: 'package', name: 'test', package: '@tapjs/test' }] },
  ],
  '@typescript-eslint/no-misused-promises': 'error',
};

export default tseslint.config(
  { ignores: ['dist/**', 'src/generated/**', 'node_modules/**', '.kafka/**', 'reports/**', 'scripts/**'] },
  {
    files: ['src/**/*.ts', 'src/**/*.cts', 'test/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: promiseRules,
  },
  {
    files: ['src/**/*.ts', 'src/**/*.cts'],
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
    },
  },
);
