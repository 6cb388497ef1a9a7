import { CasMismatch, type KvV2 } from './kv.js';
import { LockLost } from './lock.js';
import type { SecretPolicy } from './policy.js';
import { parseRotationState, type MetaPatch } from './state.js';

/** Writes custom_metadata, with metadata_cas where the server supports it (OpenBao ≥ 2.4). */
export class MetadataWriter {
  constructor(
    private readonly kv: KvV2,
    private readonly secret: SecretPolicy,
    private version: number | undefined,
  ) {}

  async patch(custom: MetaPatch, expectRotationId?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.kv.patchMetadata(this.secret.mount, this.secret.path, {
          custom,
          ...(this.secret.maxVersions !== undefined ? { maxVersions: this.secret.maxVersions } : {}),
          ...(this.version !== undefined ? { metadataCas: this.version } : {}),
        });
        if (this.version !== undefined) this.version += 1;
        return;
      } catch (err) {
        if (!(err instanceof CasMismatch) || attempt > 0) throw err;
        // Someone else wrote the metadata: if another rotation took over, stop; else merge again.
        const fresh = await this.kv.readMetadata(this.secret.mount, this.secret.path);
        const state = parseRotationState(fresh?.customMetadata);
        if (expectRotationId && state.state === 'pending' && state.rotationId !== expectRotationId) {
          throw new LockLost(this.secret.id, `rotation ${state.rotationId} recorded itself meanwhile`);
        }
        this.version = fresh?.metadataVersion;
      }
    }
  }
}
