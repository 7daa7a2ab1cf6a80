export interface ServerPropertiesValues {
  brokerPort: number;
  controllerPort: number;
  logDirs: string;
  /** Present: inter-broker traffic gets its own INTERNAL listener on `port`, advertised at `advertisedPort`. */
  interBroker?: { port: number; advertisedPort: number };
  /** Replace these keys' values where the template sets them, append the others. */
  overrides?: Readonly<Record<string, string>>;
}

/**
 * Fills infra/kafka/server.properties. Without `interBroker` the result is the same, byte for
 * byte, as before the INTERNAL listener existed: the local stack and every other test keep the
 * config they were proven with.
 */
export function renderServerProperties(template: string, values: ServerPropertiesValues): string {
  const internal = values.interBroker;
  const placeholders: Record<string, string> = {
    brokerPort: String(values.brokerPort),
    controllerPort: String(values.controllerPort),
    logDirs: values.logDirs,
    internalListener: internal ? `,INTERNAL://127.0.0.1:${internal.port}` : '',
    internalAdvertisedListener: internal ? `,INTERNAL://127.0.0.1:${internal.advertisedPort}` : '',
    interBrokerListenerName: internal ? 'INTERNAL' : 'PLAINTEXT',
    internalProtocol: internal ? ',INTERNAL:PLAINTEXT' : '',
  };
  let properties = template;
  for (const [name, value] of Object.entries(placeholders)) properties = properties.replaceAll(`\${${name}}`, value);
  // A placeholder added to the template and not here would reach Kafka as a literal `${name}`:
  // a port that fails to parse, or worse, a data folder by that name.
  const left = properties
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .flatMap((line) => line.match(/\$\{[A-Za-z]+\}/g) ?? []);
  if (left.length > 0) throw new Error(`server.properties: no value for ${[...new Set(left)].join(', ')}`);
  return applyOverrides(properties, values.overrides ?? {});
}

function applyOverrides(properties: string, overrides: Readonly<Record<string, string>>): string {
  const lines = properties.split('\n');
  const appended: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key) || /[\r\n]/.test(value)) throw new Error(`server.properties: bad override ${JSON.stringify(key)}`);
    // In place rather than appended: java.util.Properties would let a later duplicate win, but
    // someone reading the file would see the template's value first.
    const at = lines.findIndex((line) => line.startsWith(`${key}=`));
    if (at >= 0) lines[at] = `${key}=${value}`;
    else appended.push(`${key}=${value}`);
  }
  if (appended.length === 0) return lines.join('\n');
  const text = lines.join('\n');
  return `${text}${text.endsWith('\n') ? '' : '\n'}${appended.join('\n')}\n`;
}

export interface SecuredListenerValues {
  saslSslPort: number;
  sslPort?: number;
  certificates: { caFile: string; serverKeystoreFile: string; keystorePassword: string };
  plainUsers?: ReadonlyArray<{ name: string; password: string }>;
}

const jaasQuote = (text: string) => {
  if (/["\\\r\n]/.test(text)) throw new Error('server.properties: a SASL user or password with a quote, backslash or line break');
  return `"${text}"`;
};

/**
 * Adds a SASL_SSL listener (PLAIN and both SCRAMs) and optionally an SSL listener that requires
 * a client certificate to rendered server.properties. PLAINTEXT stays the inter-broker and
 * controller side, so the broker itself and the tools keep working as before.
 */
export function securedListenerProperties(properties: string, values: SecuredListenerValues): string {
  const extra: Array<[string, string]> = [['SASL_SSL', `127.0.0.1:${values.saslSslPort}`]];
  if (values.sslPort !== undefined) extra.push(['SSL', `127.0.0.1:${values.sslPort}`]);
  const lines = properties.split('\n').map((line) => {
    if (line.startsWith('listeners=') || line.startsWith('advertised.listeners=')) return `${line}${extra.map(([name, address]) => `,${name}://${address}`).join('')}`;
    if (line.startsWith('listener.security.protocol.map=')) return `${line}${extra.map(([name]) => `,${name}:${name}`).join('')}`;
    return line;
  });
  const plain = (values.plainUsers ?? []).map((u) => `user_${u.name}=${jaasQuote(u.password)}`).join(' ');
  const { caFile, serverKeystoreFile, keystorePassword } = values.certificates;
  const added = [
    '',
    '# Secured listeners (libs/devstack securedListenerProperties): certificates made by the test.',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plain};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${serverKeystoreFile}`,
    `ssl.keystore.password=${keystorePassword}`,
    `ssl.key.password=${keystorePassword}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${caFile}`,
    ...(values.sslPort !== undefined ? ['listener.name.ssl.ssl.client.auth=required'] : []),
    '',
  ];
  return lines.join('\n').replace(/\n*$/, '\n') + added.join('\n');
}
