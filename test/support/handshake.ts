/** A real mutual-TLS handshake with Node's tls on loopback, bounded in time. */
import * as tls from "node:tls";

export interface PeerMaterial {
    /** Leaf first, then intermediates. */
    chain: string;
    key: string;
    /** What this peer trusts. */
    ca: string;
}

/** A peer that presents a PKCS#12 keystore (OpenSSL reads it under Node) and trusts PEM certificates. */
export interface KeystorePeer {
    pfx: Buffer;
    passphrase: string;
    ca: string;
}

function credentials(peer: PeerMaterial | KeystorePeer): tls.SecureContextOptions {
    return "pfx" in peer
        ? { pfx: peer.pfx, passphrase: peer.passphrase, ca: peer.ca }
        : { key: peer.key, cert: peer.chain, ca: peer.ca };
}

export interface HandshakeResult {
    ok: boolean;
    /** The client certificate's CN as the server saw it. */
    clientCN?: string;
    error?: string;
}

export async function mtlsHandshake(
    server: PeerMaterial | KeystorePeer,
    client: PeerMaterial | KeystorePeer,
    servername: string,
    timeoutMs = 5000,
): Promise<HandshakeResult> {
    let clientCN: string | undefined;
    const srv = tls.createServer({ ...credentials(server), requestCert: true, rejectUnauthorized: true }, (socket) => {
        clientCN = socket.getPeerCertificate().subject?.CN as string | undefined;
        socket.end("ok\n");
    });
    srv.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const port = (srv.address() as { port: number }).port;
    try {
        return await new Promise<HandshakeResult>((resolve) => {
            const timer = setTimeout(() => {
                socket.destroy();
                resolve({ ok: false, error: "timeout" });
            }, timeoutMs);
            const socket = tls.connect({ host: "127.0.0.1", port, servername, ...credentials(client) });
            socket.on("data", (data) => {
                clearTimeout(timer);
                socket.end();
                resolve({ ok: data.toString() === "ok\n", clientCN });
            });
            socket.on("error", (err) => {
                clearTimeout(timer);
                resolve({ ok: false, error: err.message });
            });
            socket.on("close", () => {
                clearTimeout(timer);
                resolve({ ok: false, error: "closed before the server answered" });
            });
        });
    } finally {
        srv.close();
    }
}
