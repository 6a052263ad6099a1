// Handshake benchmark, client side: its own process (forked by bench/run.mjs, IPC channel),
// so client and server each have an event loop and, on a 2-core machine, a core.
//
// One handshake = TCP connect to 127.0.0.1 + mutual-TLS handshake (default TLS 1.3) + the
// server's 1-byte reply, which it only sends after verifying our certificate + close.
// Handshakes run one after another (one connection in flight), with one client
// SecureContext for all of them, as a real client reuses its TLS context.
//
// mode "full":    no session is offered (and the server has tickets off): every
//                 handshake sends and verifies both certificates; isSessionReused()
//                 is checked to be false.
// mode "resumed": after one full handshake, every connection offers the newest TLS 1.3
//                 session ticket (psk_dhe_ke: a fresh ECDHE, no certificates);
//                 isSessionReused() is checked to be true.
//
// Outside the timed loop, a few connections go through a loopback relay: in mode "full" one
// TLS 1.2 handshake, whose plaintext Certificate messages give the DER bytes of the
// certificates each side really sends (TLS 1.3 sends the same list, encrypted), and one
// TLS 1.3 handshake; in mode "resumed" one resumed handshake. The relay also counts the
// TLS bytes each way.
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";

const cfg = JSON.parse(process.argv[2]);
const contextOptions = { key: fs.readFileSync(cfg.key), cert: fs.readFileSync(cfg.cert), ca: fs.readFileSync(cfg.ca) };
// The context fixes the protocol versions (tls.connect ignores min/maxVersion when given one).
const contexts = {
    "TLSv1.3": tls.createSecureContext({ ...contextOptions, minVersion: "TLSv1.2", maxVersion: "TLSv1.3" }),
    "TLSv1.2": tls.createSecureContext({ ...contextOptions, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" }),
};
const HANDSHAKE_TIMEOUT_MS = 5000;
let session;

function handshake({ port = cfg.port, maxVersion = "TLSv1.3", offer = cfg.mode === "resumed" } = {}) {
    return new Promise((resolve) => {
        const started = performance.now();
        let reply = false;
        let info;
        let error;
        const socket = tls.connect({
            host: "127.0.0.1",
            port,
            servername: cfg.servername,
            secureContext: contexts[maxVersion],
            ...(offer && session ? { session } : {}),
        });
        const timer = setTimeout(() => {
            error = "timeout";
            socket.destroy();
        }, HANDSHAKE_TIMEOUT_MS);
        socket.on("session", (s) => {
            session = s;
        });
        socket.on("secureConnect", () => {
            info = {
                protocol: socket.getProtocol(),
                cipher: socket.getCipher()?.standardName,
                ephemeralKey: socket.getEphemeralKeyInfo(),
                reused: socket.isSessionReused(),
                authorized: socket.authorized,
            };
        });
        socket.on("data", (d) => {
            if (d.toString() === "k") reply = true;
        });
        socket.on("error", (err) => {
            error = err.message;
        });
        socket.on("close", () => {
            clearTimeout(timer);
            resolve({
                ok: reply && !error && info?.authorized === true,
                ms: performance.now() - started,
                info,
                error,
            });
        });
    });
}

/** Reads TLS 1.2 records of one direction; collects the certificates of plaintext Certificate messages. */
function certificateTap() {
    let records = Buffer.alloc(0);
    let messages = Buffer.alloc(0);
    let encrypted = false;
    const certs = [];
    return {
        certs,
        push(chunk) {
            records = Buffer.concat([records, chunk]);
            while (records.length >= 5) {
                const type = records[0];
                const length = records.readUInt16BE(3);
                if (records.length < 5 + length) break;
                const payload = records.subarray(5, 5 + length);
                records = records.subarray(5 + length);
                if (encrypted) continue;
                if (type === 20) {
                    encrypted = true;
                    continue;
                } // ChangeCipherSpec: the rest is encrypted
                if (type !== 22) continue;
                messages = Buffer.concat([messages, payload]);
                while (messages.length >= 4) {
                    const msgType = messages[0];
                    const msgLength = messages.readUIntBE(1, 3);
                    if (messages.length < 4 + msgLength) break;
                    const body = messages.subarray(4, 4 + msgLength);
                    messages = messages.subarray(4 + msgLength);
                    if (msgType !== 11) continue; // Certificate
                    const listLength = body.readUIntBE(0, 3);
                    let offset = 3;
                    while (offset < 3 + listLength) {
                        const certLength = body.readUIntBE(offset, 3);
                        certs.push(Buffer.from(body.subarray(offset + 3, offset + 3 + certLength)));
                        offset += 3 + certLength;
                    }
                }
            }
        },
    };
}

function describeCert(der) {
    const x = new X509Certificate(der);
    const cn = /CN=([^\n]+)/.exec(x.subject)?.[1] ?? x.subject;
    const d = x.publicKey.asymmetricKeyDetails ?? {};
    const key = [x.publicKey.asymmetricKeyType, d.modulusLength ?? d.namedCurve].filter(Boolean).join(" ");
    return { subject: cn, ca: x.ca, key, derBytes: der.length };
}

/**
 * One handshake through a loopback relay that counts the TLS bytes each way and, for
 * TLS 1.2, reads the certificates out of the plaintext Certificate messages.
 */
async function throughRelay(maxVersion, offer) {
    const fromClient = certificateTap();
    const fromServer = certificateTap();
    let clientToServer = 0;
    let serverToClient = 0;
    const relay = net.createServer((inbound) => {
        const outbound = net.connect(cfg.port, "127.0.0.1");
        inbound.on("data", (d) => {
            clientToServer += d.length;
            fromClient.push(d);
            outbound.write(d);
        });
        outbound.on("data", (d) => {
            serverToClient += d.length;
            fromServer.push(d);
            inbound.write(d);
        });
        inbound.on("end", () => outbound.end());
        outbound.on("end", () => inbound.end());
        inbound.on("error", () => outbound.destroy());
        outbound.on("error", () => inbound.destroy());
    });
    await new Promise((r) => relay.listen(0, "127.0.0.1", r));
    const result = await handshake({ port: relay.address().port, maxVersion, offer });
    await new Promise((r) => setTimeout(r, 20));
    relay.close();
    return { result, clientToServer, serverToClient, serverCerts: fromServer.certs, clientCerts: fromClient.certs };
}

async function measureFullWire() {
    const v12 = await throughRelay("TLSv1.2", false);
    const v13 = await throughRelay("TLSv1.3", false);
    const server = v12.serverCerts.map(describeCert);
    const client = v12.clientCerts.map(describeCert);
    const sum = (list) => list.reduce((acc, c) => acc + c.derBytes, 0);
    return {
        chain: {
            method: "TLS 1.2 full handshake through a loopback relay; DER bytes of the certificates in the plaintext Certificate messages (TLS 1.3 sends the same list, encrypted)",
            ok: v12.result.ok,
            protocol: v12.result.info?.protocol,
            serverSends: server,
            clientSends: client,
            serverDerBytes: sum(server),
            clientDerBytes: sum(client),
            totalDerBytes: sum(server) + sum(client),
            error: v12.result.error,
        },
        wire: {
            method: "TLS record bytes each way of one connection (handshake + 1-byte reply + close_notify), counted by a loopback relay",
            "TLSv1.2": {
                ok: v12.result.ok,
                protocol: v12.result.info?.protocol,
                clientToServer: v12.clientToServer,
                serverToClient: v12.serverToClient,
            },
            "TLSv1.3": {
                ok: v13.result.ok,
                protocol: v13.result.info?.protocol,
                clientToServer: v13.clientToServer,
                serverToClient: v13.serverToClient,
            },
        },
    };
}

async function measureResumedWire() {
    const r = await throughRelay("TLSv1.3", true);
    return {
        method: "TLS record bytes each way of one resumed TLS 1.3 connection, counted by a loopback relay",
        "TLSv1.3": {
            ok: r.result.ok,
            reused: r.result.info?.reused,
            clientToServer: r.clientToServer,
            serverToClient: r.serverToClient,
        },
    };
}

function waitFor(predicate) {
    return new Promise((resolve) => {
        const onMessage = (msg) => {
            if (predicate(msg)) {
                process.off("message", onMessage);
                resolve(msg);
            }
        };
        process.on("message", onMessage);
    });
}

async function main() {
    const fullWire = cfg.mode === "full" && cfg.measureChain ? await measureFullWire() : undefined;

    // Warm-up: fixed count, also bounded in time. In resumed mode it also obtains a ticket.
    const warmStart = performance.now();
    let warm = 0;
    let warmFailures = 0;
    while (warm < cfg.warmupCount && performance.now() - warmStart < cfg.warmupMs) {
        const r = await handshake();
        warm += 1;
        if (!r.ok) warmFailures += 1;
        if (warmFailures > 3) break;
    }
    const resumedWire = cfg.mode === "resumed" && cfg.measureChain ? await measureResumedWire() : undefined;
    process.send({ phase: "warm", warm, warmFailures });
    await waitFor((m) => m.go);

    // Measured loop: at most maxCount handshakes and at most timeLimitMs.
    const latencies = [];
    let failures = 0;
    let reusedCount = 0;
    let firstInfo;
    let firstError;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    while (latencies.length + failures < cfg.maxCount && performance.now() - start < cfg.timeLimitMs) {
        const r = await handshake();
        if (!r.ok) {
            failures += 1;
            firstError ??= r.error ?? "no reply";
            if (failures > 10) break;
            continue;
        }
        firstInfo ??= r.info;
        if (r.info.reused) reusedCount += 1;
        latencies.push(r.ms);
    }
    const elapsedMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    latencies.sort((a, b) => a - b);
    const count = latencies.length;
    process.send({
        phase: "done",
        result: {
            handshakes: count,
            failures,
            firstError,
            elapsedMs,
            perSecond: count / (elapsedMs / 1000),
            latencyMs: count
                ? {
                      median: latencies[Math.floor(count / 2)],
                      p90: latencies[Math.floor(count * 0.9)],
                      min: latencies[0],
                      max: latencies[count - 1],
                  }
                : null,
            clientCpuMsPerHandshake: count ? (cpu.user + cpu.system) / 1000 / count : null,
            reusedCount,
            negotiated: firstInfo,
            stoppedBy: count + failures >= cfg.maxCount ? "count" : "time",
        },
        chain: fullWire?.chain,
        wire: fullWire?.wire ?? resumedWire,
    });
}

process.on("disconnect", () => process.exit(0));
setTimeout(() => process.exit(3), cfg.maxLifetimeMs ?? 120_000).unref();
main().then(
    () => {
        process.disconnect();
    },
    (err) => {
        process.send({ phase: "error", error: String(err?.stack ?? err) });
        process.disconnect();
    },
);
