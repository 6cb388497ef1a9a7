import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError } from '../errors.js';
import { streamedBytes } from '../io/buffer-reclaim.js';
import type { VaultConnection } from './connection.js';
import { responseError, transportError } from './errors.js';

/**
 * Binary request bodies and responses (Raft snapshots), streamed. node-vault decodes every body
 * as UTF-8 text and buffers it, so snapshot bytes go through Node's own http(s) client with the
 * same TLS settings (CA, server name) as the JSON client.
 */
export interface ByteStreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

export interface ByteStreamRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  token?: string;
  /** Streamed request body (restore). */
  body?: Readable;
  signal?: AbortSignal;
  /** Time allowed for the server to start answering (response headers). */
  headersTimeoutMs?: number;
  /** Time allowed with no bytes moving in either direction once streaming. */
  idleTimeoutMs?: number;
}

export function openByteStream(connection: VaultConnection, req: ByteStreamRequest): Promise<ByteStreamResponse> {
  const url = new URL(`/v1/${req.path.replace(/^\/+/, '')}`, connection.address);
  const headers: Record<string, string> = {};
  if (req.token) headers['X-Vault-Token'] = req.token;
  if (connection.namespace) headers['X-Vault-Namespace'] = connection.namespace;
  if (req.body) headers['Content-Type'] = 'application/octet-stream';
  const tls = url.protocol === 'https:';
  const requester = tls ? httpsRequest : httpRequest;
  return new Promise<ByteStreamResponse>((resolve, reject) => {
    const request = requester(url, {
      method: req.method,
      headers,
      ...(tls
        ? {
            rejectUnauthorized: true,
            ...(connection.caPem ? { ca: connection.caPem } : {}),
            ...(connection.clientCertPem && connection.clientKeyPem
              ? { cert: connection.clientCertPem, key: connection.clientKeyPem }
              : {}),
            ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
          }
        : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const headersTimeout = setTimeout(() => {
      request.destroy(Object.assign(new Error('timed out waiting for the response'), { code: 'ETIMEDOUT' }));
    }, req.headersTimeoutMs ?? connection.timeoutMs);
    request.setTimeout(req.idleTimeoutMs ?? Math.max(connection.timeoutMs, 60_000), () => {
      request.destroy(Object.assign(new Error('no bytes moved within the idle timeout'), { code: 'ETIMEDOUT' }));
    });
    request.once('response', (res) => {
      clearTimeout(headersTimeout);
      // A connection cut emits 'error' on the response, perhaps before its reader has attached or
      // after its pipeline has already ended for another reason: with no listener that would be an
      // uncaught exception. The reader still sees the error (pipeline and finished() check a
      // stream's `errored` state), so this listener only keeps it from crashing the process.
      res.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    // `on`, not `once`: a request can fail twice (a cut after a timeout), and a second 'error'
    // without a listener would crash the process; only the first one settles the promise.
    request.on('error', (err) => {
      clearTimeout(headersTimeout);
      if ((err as { name?: string }).name === 'AbortError') {
        reject(new VaultOpsError('aborted', `${req.method} ${url.pathname} was interrupted`, { cause: err }));
      } else {
        reject(transportError(connection.address, err));
      }
    });
    if (req.body) {
      // Counted for buffer-reclaim.ts: a file read stream allocates a fresh chunk per read.
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          streamedBytes(chunk.length);
          callback(null, chunk);
        },
      });
      pipeline(req.body, counted, request).catch((err) => request.destroy(err as Error));
    } else {
      request.end();
    }
  });
}

/** Read a small error body (capped) and turn a non-2xx answer into a typed error. */
export async function byteStreamError(
  method: string,
  path: string,
  response: ByteStreamResponse,
): Promise<VaultOpsError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  response.body.destroy();
  let errors: string[] = [];
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: unknown[] };
    errors = Array.isArray(parsed.errors) ? parsed.errors.map(String) : [];
  } catch {
    /* not JSON */
  }
  if (response.status === 307) {
    return new VaultOpsError(
      'vault-request',
      `${method} ${path} was redirected to ${String(response.headers.location ?? 'another node')}: this node is a ` +
        `standby; vault-ops talks to the leader, so check sys/leader's leader_address is reachable`,
    );
  }
  return responseError(method, path, { status: response.status, errors });
}
