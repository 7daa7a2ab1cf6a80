/**
 * Four projects: `unit` (pure logic, no I/O, runs anywhere), `integration` (real Kafka and Redis
 * from one global setup, shared by every integration test file), `stack` (`npm start` itself, run
 * alone: its build restores every dist/ from nx's cache, which would pull files from under apps
 * other tests are starting) and `faults` (the shared setup again; run on its own by
 * `npm run test:faults`).
 */
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const moduleNameMapper = { '^@waybill/(.*)$': '<rootDir>/libs/$1/src/index.ts' };
const testPathIgnorePatterns = ['/node_modules/', '/dist/', '/.cache/', '/.data/'];

module.exports = {
  testTimeout: 120_000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/{libs,apps,tools,test}/**/*.unit.spec.ts'],
      transform,
      moduleNameMapper,
      testPathIgnorePatterns,
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testMatch: ['<rootDir>/{libs,apps,tools,test}/**/*.{int,e2e}.spec.ts'],
      transform,
      moduleNameMapper,
      testPathIgnorePatterns,
      globalSetup: '<rootDir>/test/setup/global-setup.js',
      globalTeardown: '<rootDir>/test/setup/global-teardown.js',
    },
    {
      displayName: 'stack',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/stack/**/*.stack.spec.ts'],
      transform,
      moduleNameMapper,
      testPathIgnorePatterns,
    },
    {
      // `npm run test:faults`: crashes, hostile input and security, proven against the real stack.
      // Its own jest run (npm test starts it after the others), so its load has the machine alone.
      displayName: 'faults',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/faults/**/*.faults.spec.ts'],
      transform,
      moduleNameMapper,
      testPathIgnorePatterns,
      globalSetup: '<rootDir>/test/setup/global-setup.js',
      globalTeardown: '<rootDir>/test/setup/global-teardown.js',
    },
  ],
};
