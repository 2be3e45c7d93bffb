/**
 * An SMTP proxy in front of the sandbox SMTP server that can cut connections
 * in the middle of a message's DATA: the service connects to it as to
 * smtp.office365.com:587; it forwards to the sandbox server.
 *
 * SMTP submission upgrades with STARTTLS, after which a plain TCP proxy sees
 * only ciphertext. So this one takes part in the upgrade: it forwards the
 * client's STARTTLS, and when the server answers 220 it passes the 220 on and
 * then speaks TLS on both sides (the sandbox certificate towards the client,
 * a TLS client towards the server), reading the commands in between. Bytes
 * pass through unchanged otherwise.
 *
 * A cut happens after the server's 354 (the client streams the message):
 * half of the client's first content chunk is forwarded, then both
 * connections are destroyed. The server never sees the final dot, so it
 * records nothing; the client sees its connection drop mid-DATA.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { SandboxPki } from './pki.js';

export interface SmtpProxyBehaviour {
  /** Cut the connection in the middle of a message's content, for the next `times` messages (null: every one). */
  cutInData: null | { times: number | null };
}

export interface SmtpProxy {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted. */
  connections: number;
  /** DATA commands seen (messages the client began to send). */
  dataCommands: number;
  /** Connections cut mid-DATA. */
  cut: number;
  setBehaviour(b: Partial<SmtpProxyBehaviour>): void;
  stop(): Promise<void>;
}

const TERMINATOR = '\r\n.\r\n';

export async function startSmtpProxy(opts: { pki: SandboxPki; target: { host: string; port: number } }): Promise<SmtpProxy> {
  let behaviour: SmtpProxyBehaviour = { cutInData: null };
  const sockets = new Set<Duplex>();
  const secureContext = createSecureContext({ cert: opts.pki.serverCertPem, key: opts.pki.serverKeyPem });

  /** Uses up one cut; false when none is left. */
  const takeCut = (): boolean => {
    const cut = behaviour.cutInData;
    if (!cut) return false;
    if (cut.times === null) return true;
    if (cut.times <= 0) return false;
    cut.times -= 1;
    if (cut.times === 0) behaviour = { ...behaviour, cutInData: null };
    return true;
  };

  const handle = (client: Socket): void => {
    proxy.connections += 1;
    const upstream = connect(opts.target.port, opts.target.host);
    let toClient: Duplex = client;
    let toServer: Duplex = upstream;
    const all: Duplex[] = [client, upstream];
    for (const s of all) sockets.add(s);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      for (const s of all) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of all) {
      s.on('error', close);
      s.on('close', close);
    }

    // Client side: command lines until DATA; then content until the final dot.
    let commandLine = '';
    let inData = false;
    let cutThisMessage = false;
    let cutting = false;
    let contentTail = '';
    let startTlsAsked = false;
    // Server side: reply lines, read only while a STARTTLS waits for its answer.
    let replyLine = '';

    const onClientData = (chunk: Buffer): void => {
      // Once cut, whatever else the client sends before the sockets are gone is dropped.
      if (closed || cutting) return;
      if (inData) {
        if (cutThisMessage) {
          cutting = true;
          proxy.cut += 1;
          const half = chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2)));
          toServer.write(half, () => setImmediate(close));
          return;
        }
        toServer.write(chunk);
        contentTail = (contentTail + chunk.toString('latin1')).slice(-8);
        if (contentTail.endsWith(TERMINATOR)) {
          inData = false;
          contentTail = '';
        }
        return;
      }
      toServer.write(chunk);
      commandLine += chunk.toString('latin1');
      let newline = commandLine.indexOf('\n');
      while (newline !== -1) {
        const line = commandLine.slice(0, newline).trim().toUpperCase();
        commandLine = commandLine.slice(newline + 1);
        newline = commandLine.indexOf('\n');
        if (line === 'STARTTLS' && toClient === client) {
          startTlsAsked = true;
          client.pause(); // nothing may be read until both sides speak TLS
        } else if (line === 'DATA') {
          proxy.dataCommands += 1;
          // The client waits for 354 before it sends the content: what follows is content.
          inData = true;
          contentTail = '\r\n';
          cutThisMessage = takeCut();
        }
      }
    };

    const onServerData = (chunk: Buffer): void => {
      if (!startTlsAsked) {
        toClient.write(chunk);
        return;
      }
      replyLine += chunk.toString('latin1');
      const newline = replyLine.indexOf('\n');
      if (newline === -1) return;
      const reply = replyLine;
      replyLine = '';
      startTlsAsked = false;
      if (!reply.startsWith('220')) {
        client.resume();
        toClient.write(Buffer.from(reply, 'latin1'));
        return;
      }
      upgrade(Buffer.from(reply, 'latin1'));
    };

    /** Passes the server's 220 on, then TLS towards both; the commands keep flowing through the same handlers. */
    const upgrade = (reply: Buffer): void => {
      upstream.off('data', onServerData);
      client.off('data', onClientData);
      const serverTls = tlsConnect({ socket: upstream, rejectUnauthorized: false, servername: 'localhost' });
      client.write(reply, () => {
        const clientTls = new TLSSocket(client, { isServer: true, secureContext });
        toClient = clientTls;
        toServer = serverTls;
        for (const s of [serverTls, clientTls]) {
          all.push(s);
          sockets.add(s);
          s.on('error', close);
          s.on('close', close);
        }
        commandLine = '';
        serverTls.on('data', onServerData);
        clientTls.on('data', onClientData);
      });
    };

    upstream.on('data', onServerData);
    client.on('data', onClientData);
  };

  const server: Server = createServer(handle);
  const proxy: SmtpProxy = {
    host: '127.0.0.1',
    port: 0,
    connections: 0,
    dataCommands: 0,
    cut: 0,
    setBehaviour: (b) => {
      behaviour = { ...behaviour, ...b };
    },
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}
