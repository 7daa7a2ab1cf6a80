import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MissingDependencyError } from './errors';

const run = promisify(execFile);

/** A private CA and what it signed, as PEM files (and a PKCS#12 keystore of the server's for Kafka). */
export interface TestCertificates {
  dir: string;
  /** The CA every client is told to trust. */
  caFile: string;
  /** Server certificate for 127.0.0.1 / localhost, signed by the CA, and its key. */
  serverCertFile: string;
  serverKeyFile: string;
  /** The server certificate and key as PKCS#12 (Kafka's keystore), password `keystorePassword`. */
  serverKeystoreFile: string;
  keystorePassword: string;
  /** A client certificate (CN=waybill-client) signed by the CA, and its key: for mutual TLS. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A second CA that signed nothing here: a client trusting only it must refuse every server. */
  otherCaFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new MissingDependencyError('openssl is needed to make test certificates: apt-get install openssl');
    throw err;
  }
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return { cert, key };
}

async function sign(dir: string, ca: { cert: string; key: string }, name: string, subject: string, extensions: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '3', '-sha256', '-extfile', ext], dir);
  return { cert, key };
}

/**
 * Makes a throwaway CA, a server certificate for 127.0.0.1 and localhost, a client certificate,
 * and an unrelated second CA, with openssl, in `dir`. Seconds of work; for tests and a secured
 * local stack only.
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  mkdirSync(dir, { recursive: true });
  const ca = await makeCa(dir, 'waybill-test-ca');
  const other = await makeCa(dir, 'other-ca');
  const server = await sign(dir, ca, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  const client = await sign(dir, ca, 'client', '/CN=waybill-client', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  const keystorePassword = 'keystore-pass';
  const serverKeystoreFile = join(dir, 'server.p12');
  await openssl(['pkcs12', '-export', '-in', server.cert, '-inkey', server.key, '-certfile', ca.cert, '-name', 'server', '-out', serverKeystoreFile, '-passout', `pass:${keystorePassword}`], dir);
  return {
    dir,
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    serverKeystoreFile,
    keystorePassword,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    otherCaFile: other.cert,
  };
}
