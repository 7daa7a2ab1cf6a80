import { hashApiKey, type Role } from '@waybill/platform';

export interface DemoKey {
  principal: string;
  role: Role;
  key: string;
}

/** Keys for the local stack and tests only: one per role, printed by `npm start`. */
export const DEMO_KEYS: readonly DemoKey[] = [
  { principal: 'vic.viewer', role: 'viewer', key: 'demo-viewer-key' },
  { principal: 'ana.associate', role: 'associate', key: 'demo-associate-key' },
  { principal: 'tom.teamlead', role: 'team-lead', key: 'demo-teamlead-key' },
  { principal: 'sue.supervisor', role: 'supervisor', key: 'demo-supervisor-key' },
  { principal: 'fay.finance', role: 'finance', key: 'demo-finance-key' },
  { principal: 'legacy-wms-feed', role: 'integration', key: 'demo-integration-key' },
];

/** The API_KEYS value apps expect: hashes only, never the keys themselves. */
export function apiKeysSpec(keys: readonly DemoKey[] = DEMO_KEYS): string {
  return keys.map((k) => `${k.principal}:${k.role}:${hashApiKey(k.key)}`).join(',');
}
