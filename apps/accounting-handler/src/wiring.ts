import type { Server } from 'node:http';
import { TOPICS, type AccountingCommandOutcome } from '@waybill/contracts';
import { serveHandler } from '@waybill/command-gateway';
import type { Logger, ShutdownStep } from '@waybill/platform';
import { AccountingService, type AccountingClaim, type PendingAccountingCommand } from './accounting-service';
import type { Config } from './config';
import { BalanceClient } from './balance-client';
import { openApiDocument } from './http/openapi';
import { accountingRoutes } from './http/routes';

/** Connects everything accounting-handler needs and starts serving; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const balances = new BalanceClient(config.ACCOUNT_REDUCER_URL, logger);
  return serveHandler<AccountingCommandOutcome, AccountingClaim, PendingAccountingCommand>({
    app: 'accounting-handler',
    config,
    outcomesTopic: TOPICS.accountingOutcomes,
    // A shipment charge's answer has nobody waiting: only requests' answers are kept.
    answer: (decoded) =>
      decoded.recordName === 'AccountingCommandOutcome' && decoded.value.sourceEventId === null ? { commandId: decoded.value.commandId, outcome: decoded.value } : undefined,
    routes: ({ handler, serde, topics }) =>
      accountingRoutes(
        new AccountingService({ producer: handler.producer, commandsTopic: topics.accountingCommands, serde, gateway: handler.gateway, balances, outcomeWaitMs: config.OUTCOME_WAIT_MS, logger }),
        balances,
      ),
    openApi: openApiDocument(),
    onCrash,
    logger,
  });
}
