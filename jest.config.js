/**
 * One jest run, two projects: `unit` (pure logic, no I/O, runs anywhere) and `integration`
 * (real Kafka and Redis from one global setup, shared by every integration test file).
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
  ],
};
