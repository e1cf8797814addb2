// Turns low-level connection failures (Node socket errors, TLS errors, driver auth errors) into the
// stage where a connection failed and a sentence a data engineer can act on. Shared by the Kafka,
// PostgreSQL and SQL Server "test connection" paths.
import type { ConnectionTestResult } from '../../../shared/contracts/connections.js';

type Stage = ConnectionTestResult['stage'];

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/**
 * An error and what it wraps, outermost first, up to `depth` of them: `cause`, else the
 * `originalError` drivers (kafkajs, mssql) use.
 */
export function errorChain(error: unknown, depth = 5): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current && chain.length < depth; ) {
    chain.push(current);
    const record = current as { cause?: unknown; originalError?: unknown };
    current = record.cause ?? record.originalError;
  }
  return chain;
}

function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (const current of errorChain(error)) {
    const record = current as { code?: unknown; type?: unknown };
    if (typeof record.code === 'string') codes.push(record.code);
    if (typeof record.type === 'string') codes.push(record.type);
  }
  return codes;
}

/**
 * OpenSSL's error strings carry an address, a library code, the function and the source file
 * ("800C42AD497F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad
 * certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42"): keep
 * the reason and the alert number.
 */
function readableOpenSslText(text: string): string {
  return text
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]+:[^:]*routines:[A-Za-z0-9_]+:([^:\n]+):[^\s:]+:\d+:/g, '$1: ')
    .replace(/\s+/g, ' ')
    .trim();
}

function messagesOf(error: unknown): string {
  const parts: string[] = [];
  for (const current of errorChain(error)) {
    const message = current instanceof Error ? current.message : typeof current === 'string' ? current : undefined;
    // kafkajs wraps a socket error in one with the same text: say it once.
    if (message !== undefined) {
      const readable = readableOpenSslText(message);
      if (readable && !parts.some((part) => part.includes(readable))) parts.push(readable);
    }
  }
  return parts.join(' | ');
}

/** What to do about a failed TLS handshake, from what the two sides said. */
function tlsAdvice(codes: string[], text: string): string {
  if (/alert (bad certificate|certificate required|unknown ca|handshake failure)|alert number (40|42|48|116)\b/i.test(text)) {
    return 'The broker did not accept a client certificate: this listener requires one signed by a CA the broker trusts. Give the connection the client certificate and key files (PEM).';
  }
  if (codes.includes('CERT_HAS_EXPIRED') || /certificate has expired/i.test(text)) {
    return "The broker's certificate has expired: renew it on the broker.";
  }
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID') || /does not match certificate's altnames/i.test(text)) {
    return "The broker's certificate is for another host name: connect with a name the certificate lists.";
  }
  if (
    codes.some((code) => /SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code)) ||
    /self.signed certificate|unable to (verify|get local issuer)/i.test(text)
  ) {
    return "The broker's certificate is not signed by a CA this connection trusts: give the CA certificate file (PEM) that signed it.";
  }
  if (codes.includes('ERR_SSL_WRONG_VERSION_NUMBER') || /wrong version number|disconnected before secure TLS connection/i.test(text)) {
    return 'The server at that port does not speak TLS: turn TLS off for this connection, or use the TLS port.';
  }
  return 'Check the CA certificate and whether the server expects TLS.';
}

/** Where a failed connection attempt stopped, and what to tell the user. */
export function diagnoseConnectionError(error: unknown, target: string): { stage: Stage; message: string } {
  const codes = codesOf(error);
  const text = messagesOf(error);
  const has = (...wanted: string[]): boolean => wanted.some((code) => codes.includes(code));
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME') || /getaddrinfo/.test(text)) {
    return { stage: 'dns', message: `The host name in ${target} could not be resolved (DNS). Check the spelling, or your VPN.` };
  }
  if (has('ECONNREFUSED')) {
    return { stage: 'connect', message: `Connection refused by ${target}: nothing is listening on that port, or a firewall rejects it.` };
  }
  if (has('ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH') || /timed? ?out/i.test(text)) {
    return { stage: 'connect', message: `No answer from ${target} in time: the host is unreachable or a firewall drops the traffic.` };
  }
  if ([...codes].some((code) => TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) || /certificate|SSL|TLS/i.test(text)) {
    return { stage: 'tls', message: `The TLS handshake with ${target} failed: ${text}. ${tlsAdvice(codes, text)}` };
  }
  if (errorChain(error).some((entry) => (entry as { name?: unknown }).name === 'KafkaJSConnectionClosedError') || /^(Connection error: )?Closed connection$/.test(text)) {
    return {
      stage: 'connect',
      message: `${target} closed the connection before answering: the port may not be a Kafka listener, or the listener expects TLS or SASL this connection does not use (or a firewall cut it).`,
    };
  }
  if (has('3D000')) {
    return { stage: 'config', message: `${target} is reachable, but ${text}: check the database name in the connection.` };
  }
  if (has('SASL_AUTHENTICATION_FAILED', 'ELOGIN', '28P01', '28000') || /authentication|password|SASL|login failed/i.test(text)) {
    return { stage: 'auth', message: `${target} refused the credentials: ${text}. Check the user name and the secret the password reference points to.` };
  }
  if (has('42501', 'TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED') || /permission denied|not authorized/i.test(text)) {
    return { stage: 'permission', message: `Connected to ${target}, but the user lacks a permission: ${text}.` };
  }
  return { stage: 'connect', message: `Could not connect to ${target}: ${text || String(error)}` };
}
