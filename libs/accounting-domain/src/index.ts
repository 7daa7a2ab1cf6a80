export {
  TRANSACTION_KINDS,
  KIND_SIGN,
  ACCOUNT_STATE_SHAPE_VERSION,
  type TransactionKind,
  type TransactionData,
  type AccountingCommandMetadata,
  type RecordTransaction,
  type TransactionRecorded,
  type AccountState,
  type AccountingRejection,
  type AccountingRejectionCode,
  type Duplicate,
} from './lib/transactions';
export {
  initialAccountState,
  validateTransaction,
  decideTransaction,
  evolveAccount,
  accountDecider,
  type AccountWithHistory,
  isAccountingRejection,
  isDuplicate,
} from './lib/decider';
export { CHARGED_STATUSES, transactionFor, type ShipmentFact } from './lib/shipment-charges';
export { foldBalance, balanceAsOf, type AccountBalance, type BookedTransaction } from './lib/balance';
