/** What MSAL needs of a connection: its authority, client id and decrypted credential. */
import type { AppCredentials } from '../../adapters/msal/gateway.js';
import type { ClientCredential } from './client-credential.js';
import type { ConnectionRecord, ConnectionService } from './service.js';
import { authorityOf } from './validate.js';

export function appCredentials(connection: ConnectionRecord, credential: ClientCredential): AppCredentials {
  return { authority: authorityOf(connection), clientId: connection.clientId, credential };
}

/** The credentials of a stored connection (one read, one decryption). */
export async function appCredentialsOf(connections: Pick<ConnectionService, 'credentials'>, connectionId: string): Promise<AppCredentials> {
  const { connection, credential } = await connections.credentials(connectionId);
  return appCredentials(connection, credential);
}
