// Runs one handshake measurement: a server process and a client process (both forked,
// each with its own event loop), loopback only, bounded by count and time.
import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, "..", "hs-server.mjs");
const CLIENT = path.join(HERE, "..", "hs-client.mjs");

function nextMessage(child, predicate, timeoutMs, what) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const onMessage = (msg) => {
            if (predicate(msg)) {
                cleanup();
                resolve(msg);
            }
        };
        const onExit = (code) => {
            cleanup();
            reject(new Error(`${what}: process exited (${code})`));
        };
        function cleanup() {
            clearTimeout(timer);
            child.off("message", onMessage);
            child.off("exit", onExit);
        }
        child.on("message", onMessage);
        child.on("exit", onExit);
    });
}

/**
 * material: { server: {key, cert, ca}, client: {key, cert, ca}, servername }
 * options: { mode: "full"|"resumed", timeLimitMs, maxCount, warmupCount, warmupMs, measureChain }
 */
export async function runHandshakes(material, options) {
    const lifetime = options.timeLimitMs + options.warmupMs + 30_000;
    const server = fork(SERVER, [JSON.stringify({ ...material.server, mode: options.mode, maxLifetimeMs: lifetime })], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let client;
    try {
        const { port } = await nextMessage(server, (m) => m.ready, 10_000, "handshake server start");
        client = fork(
            CLIENT,
            [
                JSON.stringify({
                    ...material.client,
                    port,
                    servername: material.servername,
                    mode: options.mode,
                    timeLimitMs: options.timeLimitMs,
                    maxCount: options.maxCount,
                    warmupCount: options.warmupCount,
                    warmupMs: options.warmupMs,
                    measureChain: options.measureChain,
                    maxLifetimeMs: lifetime,
                }),
            ],
            { stdio: ["ignore", "inherit", "inherit", "ipc"] },
        );
        const warm = await nextMessage(
            client,
            (m) => m.phase === "warm" || m.phase === "error",
            options.warmupMs + 30_000,
            "handshake client warm-up",
        );
        if (warm.phase === "error") throw new Error(warm.error);
        server.send({ mark: "start" });
        await nextMessage(server, (m) => m.marked === "start", 5000, "server mark");
        const donePromise = nextMessage(
            client,
            (m) => m.phase === "done" || m.phase === "error",
            options.timeLimitMs + 30_000,
            "handshake client run",
        );
        client.send({ go: true });
        const done = await donePromise;
        if (done.phase === "error") throw new Error(done.error);
        server.send({ mark: "end" });
        const served = await nextMessage(server, (m) => m.marked === "end", 5000, "server mark end");
        const r = done.result;
        return {
            ...r,
            warmup: warm.warm,
            serverCpuMsPerHandshake: r.handshakes ? served.cpuMs / served.served : null,
            server: {
                served: served.served,
                authorized: served.authorized,
                resumed: served.resumed,
                rejected: served.rejected,
            },
            chain: done.chain,
            wire: done.wire,
        };
    } finally {
        for (const child of [client, server]) {
            if (!child || child.exitCode !== null || child.signalCode !== null) continue;
            const exited = new Promise((r) => child.once("exit", r));
            child.on("error", () => undefined);
            if (child.connected) child.send({ exit: true });
            const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
            await exited;
            clearTimeout(timer);
        }
    }
}
