import { WaybillError } from '@waybill/util';

/** The environment did not describe a runnable app; `problems` names every bad variable. */
export class ConfigError extends WaybillError {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
