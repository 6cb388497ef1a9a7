import type { Readable } from 'node:stream';
import { VaultOpsError } from '../errors.js';
import { byteStreamError, openByteStream } from './byte-stream.js';
import type { VaultClient } from './client.js';

const SNAPSHOT_PATH = 'sys/storage/raft/snapshot';

/**
 * Open the Raft snapshot download on the leader (a standby answers 307, so `leader` must be the
 * active node). The server sends 200 before streaming: a broken stream is a 200 with a short
 * body, which only the archive inspection downstream can tell apart from a good one.
 */
export async function openRaftSnapshot(leader: VaultClient, signal?: AbortSignal): Promise<Readable> {
  const response = await openByteStream(leader.connection, {
    method: 'GET',
    path: SNAPSHOT_PATH,
    ...(leader.token ? { token: leader.token } : {}),
    ...(signal ? { signal } : {}),
  });
  if (response.status !== 200) {
    const err = await byteStreamError('GET', SNAPSHOT_PATH, response);
    if (err.code === 'vault-permission') {
      throw new VaultOpsError('vault-permission', `permission denied: GET ${SNAPSHOT_PATH} needs 'read' on that path; grant it with the policy from 'vault-ops setup policies snapshot'`);
    }
    throw err;
  }
  return response.body;
}

/** Stream an archive into the leader: `force` uses snapshot-force (skips the seal-key check). */
export async function restoreRaftSnapshot(leader: VaultClient, body: Readable, options: { force: boolean; signal?: AbortSignal }): Promise<void> {
  const path = options.force ? 'sys/storage/raft/snapshot-force' : SNAPSHOT_PATH;
  const response = await openByteStream(leader.connection, {
    method: 'POST',
    path,
    body,
    ...(leader.token ? { token: leader.token } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    headersTimeoutMs: 60 * 60 * 1000,
  });
  if (response.status !== 204 && response.status !== 200) throw await byteStreamError('POST', path, response);
  response.body.resume();
}
