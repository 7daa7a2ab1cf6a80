import pino from 'pino';
import { classifyKafkaLog, kafkaLogSink } from './kafka-log';

function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('classifyKafkaLog', () => {
  it('knows the broker answers kafkajs retries by itself', () => {
    expect(classifyKafkaLog('Response AddPartitionsToTxn(key: 24, version: 1)', 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing')).toBe('retried');
    expect(classifyKafkaLog('Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available')).toBe('retried');
  });
  it('knows a lost connection', () => {
    expect(classifyKafkaLog('Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092', undefined)).toBe('connection');
    expect(classifyKafkaLog('Connection error: read ECONNRESET', undefined)).toBe('connection');
  });
  it('knows a consumer kafkajs restarts by itself, even when a lost connection crashed it', () => {
    expect(classifyKafkaLog('Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092', undefined)).toBe('restart');
    expect(classifyKafkaLog('Restarting the consumer in 300ms', undefined)).toBe('restart');
  });
  it('leaves everything else as it is', () => {
    expect(classifyKafkaLog('Response Produce(key: 0, version: 7)', 'The request included a message larger than the max message size the server will accept')).toBe('other');
  });
});

describe('kafkaLogSink', () => {
  it('logs retried conditions at debug and keeps real errors at error', () => {
    const { logger, lines } = capture();
    const sink = kafkaLogSink(logger);
    sink.write('error', 'Connection', 'Response AddPartitionsToTxn(key: 24, version: 1)', { error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing' });
    sink.write('error', 'Producer', 'Failed to send messages: Message too large', {});
    sink.write('error', 'Consumer', 'Restarting the consumer in 300ms', { retryTime: 300 });
    sink.stop();
    expect(lines.map((l) => l.level)).toEqual([20, 50, 40]);
  });

  it('says an outage once when it starts and once when it ends, whatever it logs in between', () => {
    const { logger, lines } = capture();
    let clock = 0;
    const sink = kafkaLogSink(logger, { quietMs: 10_000, now: () => clock });
    for (let i = 0; i < 340; i += 1) {
      clock += 50;
      sink.write('error', 'Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', {});
    }
    clock += 10_000;
    sink.write('info', 'Consumer', 'Starting', {});
    sink.stop();
    const above = lines.filter((l) => l.level >= 30);
    expect(above.map((l) => [l.level, l.msg.split(';')[0].split(' (')[0]])).toEqual([
      [40, 'Kafka connection lost'],
      [30, 'Kafka connections work again'],
      [30, 'Starting'],
    ]);
    expect(lines.filter((l) => l.level === 20)).toHaveLength(339);
  });
});
