/**
 * A stand-in for a workload's token issuer (a Kubernetes cluster's OIDC
 * issuer): an RS256 key whose tokens the imitation trusts for federated
 * credentials naming its issuer URL. Tests mint tokens and write them where
 * the service reads its federated token file.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { TOKEN_EXCHANGE_AUDIENCE } from './client-assertion.js';

export interface FederatedTokenInput {
  /** e.g. system:serviceaccount:mail:mailsync */
  subject: string;
  /** Default api://AzureADTokenExchange. */
  audience?: string;
  /** Default 3600. Negative: a token already expired. */
  lifetimeSeconds?: number;
}

export interface FederatedIssuer {
  issuer: string;
  mint(input: FederatedTokenInput): Promise<string>;
}

export function createFederatedIssuer(issuer: string): { issuer: FederatedIssuer; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  return {
    publicKey,
    issuer: {
      issuer,
      mint: async (input) => {
        const now = Math.floor(Date.now() / 1000);
        const lifetime = input.lifetimeSeconds ?? 3600;
        return new SignJWT({ kubernetes_io: { namespace: 'mail' } })
          .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
          .setIssuer(issuer)
          .setSubject(input.subject)
          .setAudience(input.audience ?? TOKEN_EXCHANGE_AUDIENCE)
          .setIssuedAt(Math.min(now, now + lifetime - 60))
          .setNotBefore(Math.min(now, now + lifetime - 60))
          .setExpirationTime(now + lifetime)
          .setJti(randomUUID())
          .sign(privateKey);
      },
    },
  };
}
