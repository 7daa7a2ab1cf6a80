export { readModelKeys, type Position, type AccountSnapshot, type TransactionEntry } from './lib/read-model';
