// Handshake benchmark, server side: its own process (forked by bench/run.mjs, IPC channel).
// Mutual TLS on 127.0.0.1 only: requestCert + rejectUnauthorized, one context for all
// connections. Each accepted connection gets a 1-byte reply ("k") once the server has
// verified the client certificate, then the server ends it.
//
// mode "full":    session tickets off (SSL_OP_NO_TICKET) and no session cache (Node keeps
//                 none unless 'newSession'/'resumeSession' listeners exist, and none do).
// mode "resumed": Node's defaults: TLS 1.3 session tickets on.
//
// Messages from the parent: {mark: "start"} resets the counters and the CPU clock;
// {mark: "end"} answers with what was served since; {exit: true} closes.
import { constants } from "node:crypto";
import fs from "node:fs";
import tls from "node:tls";

const cfg = JSON.parse(process.argv[2]);
const read = (f) => fs.readFileSync(f);

let served = 0;
let authorized = 0;
let resumed = 0;
let rejected = 0;
let cpuStart = process.cpuUsage();
let wallStart = performance.now();

const server = tls.createServer(
    {
        key: read(cfg.key),
        cert: read(cfg.cert),
        ca: read(cfg.ca),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.3",
        ...(cfg.mode === "full" ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
    },
    (socket) => {
        served += 1;
        if (socket.authorized) authorized += 1;
        if (socket.isSessionReused()) resumed += 1;
        socket.on("error", () => undefined);
        socket.end("k");
    },
);
server.on("tlsClientError", () => {
    rejected += 1;
});
server.listen(0, "127.0.0.1", () => {
    process.send({ ready: true, port: server.address().port });
});

process.on("message", (msg) => {
    if (msg.mark === "start") {
        served = 0;
        authorized = 0;
        resumed = 0;
        rejected = 0;
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
        process.send({ marked: "start" });
    } else if (msg.mark === "end") {
        const cpu = process.cpuUsage(cpuStart);
        process.send({
            marked: "end",
            served,
            authorized,
            resumed,
            rejected,
            cpuMs: (cpu.user + cpu.system) / 1000,
            wallMs: performance.now() - wallStart,
        });
    } else if (msg.exit) {
        server.close();
        process.disconnect();
        setTimeout(() => process.exit(0), 100).unref();
    }
});
// Never outlive the parent.
process.on("disconnect", () => process.exit(0));
setTimeout(() => process.exit(3), cfg.maxLifetimeMs ?? 120_000).unref();
