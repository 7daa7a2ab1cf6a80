import nx from '@nx/eslint-plugin';

const IO_LIBRARIES = ['kafkajs', 'ioredis', 'avsc', 'express', '@kafkajs/*', 'pino', 'prom-client', 'node:*', 'fs', 'net', 'http', 'child_process'];

const boundaries = {
  enforceBuildableLibDependency: true,
  banTransitiveDependencies: false,
  depConstraints: [
    // Apps are leaves: nothing may import an app, and an app imports only libs.
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:adapter', 'type:projection', 'type:contracts', 'type:streams', 'type:gateway', 'type:platform', 'type:util', 'type:registry'] },
    // What both HTTP handlers share: idempotency keys, outcome tracking, the 202-and-poll path, error bodies.
    { sourceTag: 'type:gateway', onlyDependOnLibsWithTags: ['type:contracts', 'type:streams', 'type:platform', 'type:util'] },
    // Adapters map a domain's types onto the wire contracts: the one place both meet.
    { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:util'] },
    // Read models: how records become Redis keys, shared by the ledger app and the rebuild tools.
    { sourceTag: 'type:projection', onlyDependOnLibsWithTags: ['type:domain', 'type:adapter', 'type:contracts', 'type:streams', 'type:platform', 'type:util'] },
    // Domain logic is pure: no Kafka, Redis, Avro, HTTP or Node I/O.
    { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:util'], bannedExternalImports: IO_LIBRARIES },
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:util'] },
    { sourceTag: 'type:streams', onlyDependOnLibsWithTags: ['type:contracts', 'type:platform', 'type:util'] },
    { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:util'] },
    { sourceTag: 'type:registry', onlyDependOnLibsWithTags: ['type:platform', 'type:util'] },
    { sourceTag: 'type:util', onlyDependOnLibsWithTags: [], bannedExternalImports: IO_LIBRARIES },
    { sourceTag: 'type:tool', notDependOnLibsWithTags: ['type:app'] },
    // Shipping and accounting talk only through topics and shared contracts.
    { sourceTag: 'scope:shipment', onlyDependOnLibsWithTags: ['scope:shipment', 'scope:shared'] },
    { sourceTag: 'scope:accounting', onlyDependOnLibsWithTags: ['scope:accounting', 'scope:shared'] },
    { sourceTag: 'scope:ledger', onlyDependOnLibsWithTags: ['scope:ledger', 'scope:shipment', 'scope:accounting', 'scope:shared'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
    // Operator tools work across domains (replay, rebuild, verify): any lib, never an app.
    { sourceTag: 'scope:tools', notDependOnLibsWithTags: ['type:app'] },
  ],
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.data/**', '.nx/**'] },
  {
    // nx's flat/typescript sets these two as warnings, which a green run scrolls past: errors here,
    // on the same files it sets them for.
    files: ['**/*.ts', '**/*.tsx', '**/*.cts', '**/*.mts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', boundaries],
    },
  },
  {
    // Integration tests of any lib may start real infrastructure through the devstack.
    files: ['**/*.int.spec.ts', '**/*.e2e.spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { ...boundaries, allow: ['@waybill/devstack'] }],
    },
  },
];
