import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { BadRequest, guard, objectBody, optionalToken, pathId, sendPending, sendReply, undeclaredFields, withoutIgnoredFields } from '@waybill/command-gateway';
import { principalOf, requireRole, ROLES } from '@waybill/platform';
import { isShipmentCommandType, type ShipmentCommandType } from '@waybill/shipment-domain';
import { formatReadToken, SHIPMENT_ID_PATTERN } from '@waybill/shipment-messages';
import type { CommandResult, CommandService } from '../command-service';
import { sizeErrors } from './body-limits';
import { sendRecorded } from './observation-routes';

const REJECTION_STATUS: Record<string, number> = {
  VALIDATION: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  INVALID_TRANSITION: 422,
};

function expectedVersion(req: Request): number | undefined {
  const header = req.header('if-match');
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
  if (!match) throw new BadRequest([{ field: 'If-Match', message: 'must be the expected version, e.g. "3"' }]);
  return Number(match[1]);
}

function newShipmentId(): string {
  return `SHP-${randomBytes(5).toString('hex').toUpperCase()}`;
}

function send(res: Response, result: CommandResult, created: boolean): void {
  sendReply(res, result, (own) => {
    if (own.kind === 'forbidden') {
      res.status(403).json({ error: 'FORBIDDEN', message: own.message });
      return;
    }
    const { outcome, position } = own.tracked;
    // The ledger projects the shipment from shipment.events, not from the outcome's topic: what a
    // read of this write needs is the version, which the token names.
    const readToken = formatReadToken({ shipmentId: outcome.aggregateId, version: outcome.version });
    const common = { commandId: outcome.commandId, shipmentId: outcome.aggregateId, traceId: outcome.traceId, version: outcome.version, readToken, position };
    if (outcome.status === 'Accepted') {
      res.setHeader('ETag', `"${outcome.version}"`);
      if (created) res.location(`/shipments/${outcome.aggregateId}`);
      res.status(created ? 201 : 200).json({ status: 'accepted', ...common, eventIds: outcome.eventIds });
      return;
    }
    const rejection = outcome.rejection;
    res.status(REJECTION_STATUS[rejection?.code ?? ''] ?? 422).json({
      status: 'rejected',
      error: rejection?.code,
      message: rejection?.reason,
      currentStatus: rejection?.currentStatus,
      currentVersion: outcome.version,
      allowedCommands: rejection?.allowedCommands ?? [],
      fieldErrors: rejection?.fieldErrors ?? [],
      alert: outcome.alert,
      ...common,
    });
  });
}

/**
 * POST /shipments, POST /shipments/:id/commands, GET /commands/:commandId. Every route needs an
 * API key (mounted behind the auth middleware); `initiatedBy` is the key's principal, whatever
 * the body says.
 */
export function shipmentRoutes(service: CommandService): Router {
  const router = Router();
  const operate = requireRole('associate', 'team-lead', 'supervisor');

  const handle = (created: boolean, build: (req: Request) => { shipmentId: string; type: ShipmentCommandType; data: unknown }) =>
    guard(async (req, res) => {
      objectBody(req);
      const { shipmentId, type, data } = build(req);
      const tooLarge = sizeErrors(data, '');
      if (tooLarge.length) throw new BadRequest(tooLarge);
      const result = await service.send({
        principal: principalOf(req),
        shipmentId,
        type,
        data,
        expectedVersion: expectedVersion(req),
        idempotencyKey: optionalToken(req, 'idempotency-key'),
        traceId: optionalToken(req, 'x-trace-id'),
      });
      send(res, result, created);
    });

  router.post(
    '/shipments',
    operate,
    handle(true, (req) => {
      const { shipmentId, initiatedBy: _ignored, ...data } = req.body as Record<string, unknown>;
      if (shipmentId !== undefined && (typeof shipmentId !== 'string' || !SHIPMENT_ID_PATTERN.test(shipmentId))) {
        throw new BadRequest([{ field: 'shipmentId', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' }]);
      }
      return { shipmentId: (shipmentId as string | undefined) ?? newShipmentId(), type: 'CreateShipment', data };
    }),
  );

  router.post(
    '/shipments/:shipmentId/commands',
    operate,
    handle(false, (req) => {
      const { shipmentId } = req.params;
      // `initiatedBy` always comes from the API key; one in the body is ignored, not an error. Any
      // other field beside `type` and `data` is refused, like a stray field inside `data`.
      const envelope = withoutIgnoredFields(req.body as Record<string, unknown>);
      const { type, data: rawData } = envelope as { type?: unknown; data?: unknown };
      const data = typeof rawData === 'object' && rawData !== null && !Array.isArray(rawData) ? withoutIgnoredFields(rawData as Record<string, unknown>) : rawData;
      const errors = undeclaredFields(envelope, ['type', 'data'], { message: 'is not a field of a command (type, data)' });
      if (!SHIPMENT_ID_PATTERN.test(shipmentId)) errors.push({ field: 'shipmentId', message: 'is not a shipment id' });
      // A command without fields still takes an object: `[]` or `"x"` is a mistake, not "no data".
      if (rawData !== undefined && rawData !== null && (typeof rawData !== 'object' || Array.isArray(rawData))) {
        errors.push({ field: 'data', message: 'must be a JSON object (or left out when the command has no fields)' });
      }
      if (typeof type !== 'string' || !isShipmentCommandType(type) || type === 'CreateShipment') {
        errors.push({ field: 'type', message: 'must be one of ReleaseForPicking, PickItem, CompletePicking, Pack, MarkReadyForShipping, Ship, ConfirmDelivery, Cancel, CorrectStatus' });
      }
      if (errors.length) throw new BadRequest(errors);
      return { shipmentId, type: type as ShipmentCommandType, data: data ?? {} };
    }),
  );

  router.get(
    '/commands/:commandId',
    requireRole(...ROLES),
    guard(async (req, res) => {
      const commandId = pathId(req, 'commandId');
      const found = await service.lookup(commandId);
      if (found.kind === 'unknown') return void res.status(404).json({ error: 'NOT_FOUND', message: 'no command with this id' });
      if (found.kind === 'pending') return sendPending(res, commandId, found.pending);
      if (found.tracked.outcome.commandType === 'RecordObservation') return sendRecorded(res, found.tracked);
      send(res, { kind: 'answered', commandId, tracked: found.tracked }, found.tracked.outcome.commandType === 'CreateShipment');
    }),
  );

  return router;
}
