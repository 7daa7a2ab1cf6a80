import { Router, type Response } from 'express';
import { BadRequest, guard, objectBody, sendReply, undeclaredCommandFields, withoutIgnoredFields } from '@waybill/command-gateway';
import { principalOf, requireRole } from '@waybill/platform';
import type { ObservedFact } from '@waybill/shipment-domain';
import { formatReadToken, SHIPMENT_ID_PATTERN } from '@waybill/shipment-messages';
import { parseInstant } from '@waybill/util';
import type { CommandResult, TrackedShipmentOutcome } from '../command-service';
import type { ObservationService } from '../observation-service';
import { sizeErrors } from './body-limits';

/** An ISO 8601 instant with a zone or epoch milliseconds; NaN otherwise, which the observation's checks name. */
function occurredAtOf(value: unknown): number {
  if (typeof value === 'string') return parseInstant(value) ?? Number.NaN;
  return typeof value === 'number' ? value : Number.NaN;
}

/** The answer to a recorded observation, as its POST gives it and `GET /commands/:commandId` repeats it. */
export function sendRecorded(res: Response, tracked: TrackedShipmentOutcome): void {
  const { outcome, position } = tracked;
  const readToken = formatReadToken({ shipmentId: outcome.aggregateId, version: outcome.version });
  res.status(200).json({
    status: 'recorded',
    commandId: outcome.commandId,
    shipmentId: outcome.aggregateId,
    traceId: outcome.traceId,
    version: outcome.version,
    readToken,
    position,
    eventIds: outcome.eventIds,
    alert: outcome.alert,
    violation: outcome.violation,
  });
}

function send(res: Response, result: CommandResult): void {
  sendReply(res, result, (own) => {
    if (own.kind === 'forbidden') return void res.status(403).json({ error: 'FORBIDDEN', message: own.message });
    sendRecorded(res, own.tracked);
  });
}

/**
 * POST /shipments/:shipmentId/observations: a webhook for a system of record (role
 * `integration`). What it reports already happened, so it is recorded, never refused: a fact the
 * state machine forbids is answered 200 with `alert: true` and the rule it broke. A malformed one
 * is a 400 naming every bad field, and nothing is produced.
 */
export function observationRoutes(service: ObservationService): Router {
  const router = Router();
  router.post(
    '/shipments/:shipmentId/observations',
    requireRole('integration'),
    guard(async (req, res) => {
      const { shipmentId } = req.params;
      const body = withoutIgnoredFields(objectBody(req));
      const { occurredAt, ...fact } = body;
      // `reportedBy` is the API key's principal: one in the body is refused as a field an observation does not have.
      const errors = [...undeclaredCommandFields('RecordObservation', fact), ...sizeErrors(body, '')];
      if (!SHIPMENT_ID_PATTERN.test(shipmentId)) errors.push({ field: 'shipmentId', message: 'is not a shipment id' });
      if (errors.length) throw new BadRequest(errors);
      const result = await service.report({ principal: principalOf(req), shipmentId, fact: fact as unknown as ObservedFact, occurredAt: occurredAtOf(occurredAt) });
      send(res, result);
    }),
  );
  return router;
}
