#!/usr/bin/env node
// Node peer of the mTLS e2e harness (node:https only).
//
//   node-peer.mjs server --dir D [--port 0] [--allowed a,b] [--no-client-auth] [--max-seconds 600]
//       HTTPS GET /api/data on 127.0.0.1. Prints "READY <port>" once listening; exits on
//       stdin EOF, SIGTERM or after --max-seconds.
//   node-peer.mjs client --url https://NAME:PORT/api/data --connect 127.0.0.1:PORT --ca F
//       [--cert F --key F] --servername NAME [--timeout 8] [--tls 1.2|1.3]
//       Prints one JSON line: {"outcome": ..., "status": ..., "body": ..., "error": ...}.
import { readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";

const [mode, ...rest] = process.argv.slice(2);

function uris(cert) {
    // subjectaltname looks like 'DNS:a, URI:spiffe://x/y'; quoted entries are rare in ours.
    return (cert?.subjectaltname ?? "")
        .split(/,\s*/)
        .filter((e) => e.startsWith("URI:"))
        .map((e) => e.slice(4));
}

function server() {
    const { values: o } = parseArgs({
        args: rest,
        options: {
            dir: { type: "string" },
            port: { type: "string", default: "0" },
            allowed: { type: "string", default: "" },
            "no-client-auth": { type: "boolean", default: false },
            "max-seconds": { type: "string", default: "600" },
        },
    });
    const noAuth = o["no-client-auth"];
    const allowed = new Set(
        o.allowed
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    );
    const srv = https.createServer(
        {
            key: readFileSync(join(o.dir, "tls.key")),
            cert: readFileSync(join(o.dir, "tls.crt")),
            ...(noAuth ? {} : { ca: readFileSync(join(o.dir, "ca.crt")) }),
            requestCert: !noAuth,
            rejectUnauthorized: !noAuth,
            minVersion: "TLSv1.2",
        },
        (req, res) => {
            const send = (status, obj) => {
                const text = JSON.stringify(obj);
                res.writeHead(status, {
                    "Content-Type": "application/json",
                    "Content-Length": Buffer.byteLength(text),
                    Connection: "close",
                });
                res.end(text);
            };
            if (req.url !== "/api/data") return send(404, { error: "not found" });
            const cert = req.socket.getPeerCertificate();
            const has = cert && Object.keys(cert).length > 0;
            const body = { peer: "node", cn: has ? (cert.subject?.CN ?? null) : null, uris: has ? uris(cert) : [] };
            if (!noAuth && (!req.socket.authorized || !has))
                send(403, { ...body, error: "no verified client certificate" });
            else if (!noAuth && !allowed.has(body.cn)) send(403, { ...body, error: "client not allowed" });
            else send(200, body);
        },
    );
    // With rejectUnauthorized Node ends the handshake by destroying the socket (no TLS
    // alert is sent); the reason is on the socket's authorizationError.
    srv.on("tlsClientError", (err, sock) =>
        process.stderr.write(
            `node-server: tls client error: ${err.code ?? ""} ${err.message}${sock?.authorizationError ? ` (authorizationError ${sock.authorizationError})` : ""}\n`,
        ),
    );
    const stop = (why) => {
        process.stderr.write(`node-server: stopping (${why})\n`);
        srv.close();
        srv.closeAllConnections?.();
        setTimeout(() => process.exit(0), 500).unref();
    };
    srv.listen(Number(o.port), "127.0.0.1", () => {
        process.stdout.write(`READY ${srv.address().port}\n`);
    });
    process.stdin.on("end", () => stop("stdin closed"));
    process.stdin.on("error", () => stop("stdin error"));
    process.stdin.resume();
    process.on("SIGTERM", () => stop("SIGTERM"));
    setTimeout(() => stop("max-seconds reached"), Number(o["max-seconds"]) * 1000).unref();
}

// Node/OpenSSL error codes raised when this client itself rejects the server's certificate.
const LOCAL_VERIFY = new Set([
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "CERT_SIGNATURE_FAILURE",
    "CERT_UNTRUSTED",
    "CERT_REJECTED",
    "INVALID_PURPOSE",
    "INVALID_CA",
    "PATH_LENGTH_EXCEEDED",
    "HOSTNAME_MISMATCH",
]);

function classify(err) {
    const code = err.code ?? "";
    if (LOCAL_VERIFY.has(code)) return "tls_local";
    if (/^ERR_SSL_.*ALERT/.test(code) || /alert/i.test(err.message)) return "tls_remote";
    if (code === "ECONNREFUSED") return "connect_error";
    if (code === "ECONNRESET" || code === "EPIPE" || /socket hang up|disconnected before secure/i.test(err.message))
        return "reset";
    if (code === "ETIMEDOUT" || code === "TIMEOUT") return "timeout";
    if (/^ERR_SSL_|^ERR_TLS_/.test(code)) return "tls_other";
    return "error";
}

function client() {
    const { values: o } = parseArgs({
        args: rest,
        options: {
            url: { type: "string" },
            connect: { type: "string" },
            ca: { type: "string" },
            cert: { type: "string" },
            key: { type: "string" },
            servername: { type: "string" },
            timeout: { type: "string", default: "8" },
            tls: { type: "string" },
        },
    });
    const done = (r) => {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        process.exit(0);
    };
    const url = new URL(o.url);
    const i = o.connect.lastIndexOf(":");
    let tlsOpts;
    try {
        tlsOpts = {
            ca: readFileSync(o.ca),
            ...(o.cert ? { cert: readFileSync(o.cert), key: readFileSync(o.key) } : {}),
        };
    } catch (err) {
        done({ outcome: "error", error: `read material: ${err.message}` });
        return;
    }
    const req = https.request(
        {
            host: o.connect.slice(0, i),
            port: Number(o.connect.slice(i + 1)),
            path: url.pathname,
            method: "GET",
            servername: o.servername, // SNI, and the name checkServerIdentity verifies
            headers: { Host: url.host, Connection: "close" },
            agent: false,
            rejectUnauthorized: true,
            minVersion: "TLSv1.2",
            ...(o.tls === "1.2" ? { maxVersion: "TLSv1.2" } : {}),
            ...tlsOpts,
        },
        (res) => {
            const peer = res.socket?.getPeerCertificate?.();
            const tlsVersion = res.socket?.getProtocol?.();
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("error", (err) =>
                done({ outcome: classify(err), status: res.statusCode, error: `${err.code ?? ""} ${err.message}` }),
            );
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let body;
                try {
                    body = JSON.parse(text);
                } catch {
                    body = text.slice(0, 65536);
                }
                done({
                    outcome: "http",
                    status: res.statusCode,
                    body,
                    serverCN: peer?.subject?.CN,
                    tlsVersion,
                });
            });
        },
    );
    req.setTimeout(Number(o.timeout) * 1000, () =>
        req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
    );
    req.on("error", (err) => done({ outcome: classify(err), error: `${err.code ?? ""} ${err.message}`.trim() }));
    req.end();
}

if (mode === "server") server();
else if (mode === "client") client();
else {
    process.stderr.write("usage: node-peer.mjs server|client [flags]\n");
    process.exit(2);
}
