export { readModelKeys, outcomeKey, type Position, type AccountSnapshot, type TransactionEntry } from './lib/read-model';
