import { assertNever, MAX_LONG, textCharacterProblem } from '@waybill/util';
import { OBSERVED_FACT_KINDS, SHIPMENT_ROLES, isShipmentCommandType, type ShipmentCommandType } from './commands';
import type { FieldError } from './errors';
import { SHIPMENT_STATUSES, isShipmentStatus } from './state';

// The checks read `unknown`: commands arrive from Kafka and HTTP, and a decider that throws on a
// missing field would stall its partition. Field paths are relative to `data`, so a handler can
// point at the request body field by the same name.

type Fields = Record<string, unknown>;

const MAX_COUNT = 2_147_483_647;
/**
 * Amounts travel as Avro `long`, which Waybill keeps within `MAX_LONG`: a price or total above it
 * would pass here and then fail to encode as the reducer's ShipmentCreated, stopping its partition.
 */
const MAX_MINOR = MAX_LONG;

function asFields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

class Checks {
  readonly errors: FieldError[] = [];

  add(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  /** An id or a one-line text: not blank, no control character, no lone surrogate (`textCharacterProblem`). */
  text(field: string, value: unknown): value is string {
    if (typeof value !== 'string' || value.trim().length === 0) {
      this.add(field, 'is required and must not be blank');
      return false;
    }
    const problem = textCharacterProblem(value);
    if (problem) {
      this.add(field, problem);
      return false;
    }
    return true;
  }

  pattern(field: string, value: unknown, pattern: RegExp, what: string): void {
    if (typeof value !== 'string' || !pattern.test(value)) this.add(field, `must be ${what}`);
  }

  /** Counts travel as Avro `int`, so they stay within 32 bits. */
  count(field: string, value: unknown): value is number {
    if (Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= MAX_COUNT) return true;
    this.add(field, `must be a whole number from 1 to ${MAX_COUNT}`);
    return false;
  }

  nonNegativeInt(field: string, value: unknown): value is number {
    if (Number.isSafeInteger(value) && (value as number) >= 0) return true;
    this.add(field, 'must be a whole number of at least 0');
    return false;
  }

  /** Minor units of money: a whole number from 0 to what a long carries. */
  money(field: string, value: unknown): value is number {
    if (Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_MINOR) return true;
    this.add(field, `must be a whole number of minor units from 0 to ${MAX_MINOR}`);
    return false;
  }
}

function validateCreateShipment(data: Fields, checks: Checks): void {
  checks.text('orderId', data.orderId);
  checks.text('customerAccountId', data.customerAccountId);
  checks.pattern('currency', data.currency, /^[A-Z]{3}$/, 'three upper-case letters (ISO 4217, e.g. EUR)');

  if (!Array.isArray(data.lines) || data.lines.length === 0) {
    checks.add('lines', 'must list at least one line');
  } else {
    const firstLineOfSku = new Map<string, number>();
    let total = 0;
    data.lines.forEach((raw: unknown, index) => {
      const line = asFields(raw);
      const at = `lines[${index}]`;
      if (checks.text(`${at}.sku`, line.sku)) {
        const first = firstLineOfSku.get(line.sku);
        if (first === undefined) firstLineOfSku.set(line.sku, index);
        else checks.add(`${at}.sku`, `repeats ${line.sku} from lines[${first}]; put each sku on one line`);
      }
      const quantityOk = checks.count(`${at}.quantity`, line.quantity);
      const priceOk = checks.money(`${at}.unitPriceMinor`, line.unitPriceMinor);
      if (quantityOk && priceOk) total += (line.quantity as number) * (line.unitPriceMinor as number);
    });
    if (!(Number.isSafeInteger(total) && total <= MAX_MINOR)) checks.add('lines', `the total must be at most ${MAX_MINOR} minor units`);
  }

  const destination = data.destination;
  if (typeof destination !== 'object' || destination === null || Array.isArray(destination)) {
    checks.add('destination', 'is required');
  } else {
    const d = asFields(destination);
    checks.text('destination.name', d.name);
    checks.text('destination.street', d.street);
    checks.text('destination.city', d.city);
    checks.text('destination.postalCode', d.postalCode);
    checks.pattern('destination.country', d.country, /^[A-Z]{2}$/, 'two upper-case letters (ISO 3166-1 alpha-2, e.g. NL)');
  }
}

/**
 * Every problem with a command's `data` that can be seen without the shipment's state (an empty
 * list means the data is well-formed). The HTTP handler can call this to answer 400 early with the
 * same messages the reducer would give.
 */
export function validateCommandData(type: ShipmentCommandType, rawData: unknown): FieldError[] {
  const checks = new Checks();
  const data = asFields(rawData);
  switch (type) {
    case 'CreateShipment':
      validateCreateShipment(data, checks);
      break;
    case 'ReleaseForPicking':
    case 'CompletePicking':
    case 'MarkReadyForShipping':
      break;
    case 'PickItem':
      checks.text('sku', data.sku);
      checks.count('quantity', data.quantity);
      break;
    case 'Pack':
      checks.count('packageCount', data.packageCount);
      break;
    case 'Ship':
      checks.text('carrier', data.carrier);
      checks.text('trackingNumber', data.trackingNumber);
      break;
    case 'ConfirmDelivery':
      checks.text('receivedBy', data.receivedBy);
      break;
    case 'Cancel':
      checks.text('reason', data.reason);
      break;
    case 'CorrectStatus':
      if (!isShipmentStatus(data.toStatus)) checks.add('toStatus', `must be one of ${SHIPMENT_STATUSES.join(', ')}`);
      checks.text('reason', data.reason);
      break;
    default:
      return assertNever(type);
  }
  return checks.errors;
}

/** Every problem with a command's metadata (paths prefixed `metadata.`). */
export function validateCommandMetadata(rawMetadata: unknown): FieldError[] {
  const checks = new Checks();
  const metadata = asFields(rawMetadata);
  checks.text('metadata.commandId', metadata.commandId);
  checks.text('metadata.shipmentId', metadata.shipmentId);
  checks.text('metadata.initiatedBy', metadata.initiatedBy);
  checks.text('metadata.traceId', metadata.traceId);
  if (!(SHIPMENT_ROLES as readonly unknown[]).includes(metadata.role)) {
    checks.add('metadata.role', `must be one of ${SHIPMENT_ROLES.join(', ')}`);
  }
  if (metadata.causationId != null) checks.text('metadata.causationId', metadata.causationId);
  if (metadata.expectedVersion != null) checks.nonNegativeInt('metadata.expectedVersion', metadata.expectedVersion);
  checks.nonNegativeInt('metadata.now', metadata.now);
  return checks.errors;
}

/**
 * Every problem with an observed fact that can be seen without the shipment's state: what makes it
 * a 400 over HTTP and a dead letter on `shipment.observations`. A forbidden transition is not a
 * problem here: the fact is recorded and flagged.
 */
export function validateObservedFact(rawFact: unknown): FieldError[] {
  const checks = new Checks();
  const fact = asFields(rawFact);
  checks.text('source', fact.source);
  checks.text('sourceId', fact.sourceId);
  checks.text('observedBy', fact.observedBy);
  if (fact.process != null) checks.text('process', fact.process);
  switch (fact.kind) {
    case 'Created': {
      const order = new Checks();
      validateCreateShipment(asFields(fact.order), order);
      for (const error of order.errors) checks.add(`order.${error.field}`, error.message);
      break;
    }
    case 'StatusChanged':
      if (!isShipmentStatus(fact.toStatus)) checks.add('toStatus', `must be one of ${SHIPMENT_STATUSES.join(', ')}`);
      break;
    case 'LinePicked':
      checks.text('sku', fact.sku);
      checks.count('quantity', fact.quantity);
      break;
    case 'Packed':
      checks.count('packageCount', fact.packageCount);
      break;
    case 'Shipped':
      checks.text('carrier', fact.carrier);
      checks.text('trackingNumber', fact.trackingNumber);
      break;
    case 'Delivered':
      checks.text('receivedBy', fact.receivedBy);
      break;
    case 'Cancelled':
      checks.text('reason', fact.reason);
      break;
    default:
      checks.add('kind', `must be one of ${OBSERVED_FACT_KINDS.join(', ')}`);
  }
  return checks.errors;
}

/** `type`, `data` and `metadata` together; an unknown `type` is itself a field error. */
export function validateCommand(command: unknown): FieldError[] {
  const { type, data, metadata } = asFields(command);
  const typeErrors = isShipmentCommandType(type) ? validateCommandData(type, data) : [{ field: 'type', message: 'is not a shipment command' }];
  return [...typeErrors, ...validateCommandMetadata(metadata)];
}
