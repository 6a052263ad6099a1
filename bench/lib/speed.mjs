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
        const rsa = /^\+F2:\d+:(\d+):([\d.]+):([\d.]+)/.exec(line);
        const ecdsa = /^\+F4:\d+:(\d+):([\d.]+):([\d.]+)/.exec(line);
        const eddsa = /^\+F6:\d+:\d+:(\w+):([\d.]+):([\d.]+)/.exec(line);
        if (rsa) out[`RSA-${rsa[1]}`] = { signPerSec: Number(rsa[2]), verifyPerSec: Number(rsa[3]) };
        else if (ecdsa) {
            const name = { 256: "ECDSA-P256", 384: "ECDSA-P384", 521: "ECDSA-P521" }[ecdsa[1]];
            if (name) out[name] = { signPerSec: Number(ecdsa[2]), verifyPerSec: Number(ecdsa[3]) };
        } else if (eddsa && eddsa[1] === "Ed25519") {
            out.ED25519 = { signPerSec: Number(eddsa[2]), verifyPerSec: Number(eddsa[3]) };
        }
    }
    return { command: `openssl ${args.join(" ")}`, seconds: (performance.now() - started) / 1000, results: out };
}
