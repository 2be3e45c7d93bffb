/**
 * The connections capability's background work: one sweeper, in every
 * worker process, that looks for credentials about to expire (hourly by
 * default, CREDENTIAL_EXPIRY_CHECK_MS). Every worker looks; the claims in
 * domain/connections/credential-expiry.ts make each warning go out once.
 * No queue: the check is a few reads and at most a few events.
 */
import type { CredentialWarnings } from '../../domain/connections/credential-expiry.js';
import type { Logger } from '../../logging/logger.js';
import type { JobModule } from '../runtime.js';

export function credentialExpiryJobs(deps: { warnings: Pick<CredentialWarnings, 'check'>; everyMs: number; logger: Logger }): JobModule {
  return {
    name: 'connections',
    handlers: [],
    sweepers: [{
      everyMs: deps.everyMs,
      run: () => deps.warnings.check(),
      failed: (err) => deps.logger.warn({ err }, 'credential expiry check failed'),
    }],
  };
}
