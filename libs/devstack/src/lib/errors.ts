import { WaybillError } from '@waybill/util';

/** Something the local stack needs is not installed and cannot be installed from here. */
export class MissingDependencyError extends WaybillError {
  readonly code = 'MISSING_DEPENDENCY';
}

/** A child process exited, or never became ready, while the stack was starting. */
export class ServiceStartError extends WaybillError {
  readonly code = 'SERVICE_START_FAILED';
}

/** A port the stack was told to use is taken. */
export class PortInUseError extends WaybillError {
  readonly code = 'PORT_IN_USE';
}
