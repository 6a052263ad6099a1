// The raw signature floor: `openssl speed` (single process) for the algorithms in play.
import { spawnSync } from "node:child_process";

/** openssl speed name → the project's key algorithm name. */
export const SPEED_ALGORITHMS = {
    ecdsap256: "ECDSA-P256",
    ecdsap384: "ECDSA-P384",
    rsa2048: "RSA-2048",
    rsa3072: "RSA-3072",
    rsa4096: "RSA-4096",
    ed25519: "ED25519",
};

/**
 * Runs `openssl speed -mr -seconds S <algs>` once; returns sign/s and verify/s by
 * key algorithm, read from the machine-readable +F2 (RSA), +F4 (ECDSA), +F6 (EdDSA) lines.
 */
export function opensslSpeed(algs, seconds) {
    const args = ["speed", "-mr", "-seconds", String(seconds), ...algs];
    const started = performance.now();
    const r = spawnSync("openssl", args, { encoding: "utf8", timeout: (algs.length * seconds * 4 + 60) * 1000 });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
    const text = `${r.stdout}\n${r.stderr}`;
    const out = {};
    for (const line of text.split("\n")) {
        let m;
        if ((m = /^\+F2:\d+:(\d+):([\d.]+):([\d.]+)/.exec(line))) out[`RSA-${m[1]}`] = { signPerSec: Number(m[2]), verifyPerSec: Number(m[3]) };
        else if ((m = /^\+F4:\d+:(\d+):([\d.]+):([\d.]+)/.exec(line))) {
            const name = { 256: "ECDSA-P256", 384: "ECDSA-P384", 521: "ECDSA-P521" }[m[1]];
            if (name) out[name] = { signPerSec: Number(m[2]), verifyPerSec: Number(m[3]) };
        } else if ((m = /^\+F6:\d+:\d+:(\w+):([\d.]+):([\d.]+)/.exec(line))) {
            if (m[1] === "Ed25519") out.ED25519 = { signPerSec: Number(m[2]), verifyPerSec: Number(m[3]) };
        }
    }
    return { command: `openssl ${args.join(" ")}`, seconds: (performance.now() - started) / 1000, results: out };
}
