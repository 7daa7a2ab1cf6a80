import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderServerProperties } from './kafka-properties';

const template = readFileSync(join(__dirname, '..', '..', '..', '..', 'infra', 'kafka', 'server.properties'), 'utf8');
const base = { brokerPort: 9092, controllerPort: 9093, logDirs: '/data/kafka' };

function values(properties: string): Map<string, string> {
  return new Map(
    properties
      .split('\n')
      .filter((line) => line.includes('=') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('renderServerProperties', () => {
  it('keeps the one-listener config when no inter-broker listener is asked for', () => {
    const properties = renderServerProperties(template, base);
    const v = values(properties);
    // The exact lines the stack ran with before INTERNAL existed: tests and npm start rely on them.
    expect(v.get('listeners')).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(v.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:9092');
    expect(v.get('inter.broker.listener.name')).toBe('PLAINTEXT');
    expect(v.get('listener.security.protocol.map')).toBe('CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT');
    expect(v.get('log.dirs')).toBe('/data/kafka');
    expect(properties).not.toContain('INTERNAL');
    expect(properties).toBe(
      template.replaceAll('${brokerPort}', '9092').replaceAll('${controllerPort}', '9093').replaceAll('${logDirs}', '/data/kafka')
        .replaceAll('${internalListener}', '').replaceAll('${internalAdvertisedListener}', '')
        .replaceAll('${interBrokerListenerName}', 'PLAINTEXT').replaceAll('${internalProtocol}', ''),
    );
  });

  it('puts inter-broker traffic on INTERNAL, listening on one port and advertised at another', () => {
    const v = values(renderServerProperties(template, { ...base, interBroker: { port: 9094, advertisedPort: 19094 } }));
    expect(v.get('listeners')).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,INTERNAL://127.0.0.1:9094');
    expect(v.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:19094');
    expect(v.get('inter.broker.listener.name')).toBe('INTERNAL');
    expect(v.get('listener.security.protocol.map')).toBe('CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT');
    expect(v.get('controller.listener.names')).toBe('CONTROLLER');
  });

  it('overrides a setting where the template has it and appends one it lacks', () => {
    const properties = renderServerProperties(template, {
      ...base,
      overrides: { 'transaction.state.log.num.partitions': '1', 'broker.session.timeout.ms': '3000' },
    });
    const v = values(properties);
    expect(v.get('transaction.state.log.num.partitions')).toBe('1');
    expect(v.get('broker.session.timeout.ms')).toBe('3000');
    expect(properties.match(/^transaction\.state\.log\.num\.partitions=/gm)).toHaveLength(1);
    expect(properties.endsWith('broker.session.timeout.ms=3000\n')).toBe(true);
    expect(() => renderServerProperties(template, { ...base, overrides: { 'log.dirs': '/x\nnode.id=2' } })).toThrow('bad override');
  });

  it('refuses a template placeholder it has no value for', () => {
    expect(() => renderServerProperties(`${template}\nsocket.send.buffer.bytes=\${sendBuffer}\n`, base)).toThrow('${sendBuffer}');
  });

  it('does not take the ${...} of a comment (the template has one) for a missing value', () => {
    expect(renderServerProperties('# fills the ${...} and ${unknown} placeholders\nport=${brokerPort}\n', base)).toContain('port=9092');
  });
});
