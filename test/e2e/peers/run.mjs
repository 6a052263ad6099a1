#!/usr/bin/env node
// mTLS e2e harness: real TLS peers (OpenSSL, curl, Python/uvicorn+httpx, Go, Node, and on
// request Java/JSSE over the PKCS#12 stores) against a set of certificate directories.
// See README.md beside this file.
//
//   node test/e2e/peers/run.mjs --scenario scenario.json [--json result.json] [options]
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const CACHE = process.env.MTLS_E2E_CACHE ?? join(homedir(), ".cache", "mtls-e2e");
const CLIENT_PEERS = ["openssl", "curl", "python", "go", "node"];
const SERVER_PEERS = ["openssl", "python", "go", "node", "java"];
// Java reads the PKCS#12 keystore and truststore instead of PEM, so it runs only when asked for.
const OPTIONAL_PEERS = ["java"];
const KNOWN_PEERS = [...CLIENT_PEERS, ...OPTIONAL_PEERS];
const USAGE = `usage: node test/e2e/peers/run.mjs --scenario FILE [--json FILE] [options]
  --scenario FILE     scenario JSON (format: test/e2e/peers/README.md)
  --json FILE         write results as JSON
  --peers LIST        peers to use, comma-separated (default: ${CLIENT_PEERS.join(",")});
                      a name is used both as client and, where it has one, as server;
                      also: java (reads keystore.p12, truststore.p12, keystore-password)
  --tls LIST          client TLS passes: 1.3 (clients uncapped: TLS 1.3 is negotiated),
                      1.2 (clients capped at TLS 1.2); default: 1.3,1.2
  --case-timeout S    seconds per connection attempt (default: 8)
  --max-seconds S     hard limit for the whole run; peers are killed after it (default: 900)
  --keep-work         keep the temp work dir (split chains, generated certs, peer logs)
  --setup-only        only install/build the Python venv, the Go peer and the Java peer, then exit
  --quiet             print only failures, the per-peer table and the summary line
exit: 0 all cases as expected, 1 some case deviated, 2 usage/setup error`;

// ---------------------------------------------------------------- arguments
let opts;
try {
    ({ values: opts } = parseArgs({
        options: {
            scenario: { type: "string" },
            json: { type: "string" },
            peers: { type: "string", default: CLIENT_PEERS.join(",") },
            tls: { type: "string", default: "1.3,1.2" },
            "case-timeout": { type: "string", default: "8" },
            "max-seconds": { type: "string", default: "900" },
            "keep-work": { type: "boolean", default: false },
            "setup-only": { type: "boolean", default: false },
            quiet: { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false },
        },
    }));
} catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
}
if (opts.help) {
    console.log(USAGE);
    process.exit(0);
}
const die = (msg) => {
    console.error(`run.mjs: ${msg}`);
    cleanup();
    process.exit(2);
};
const CASE_TIMEOUT = Number(opts["case-timeout"]);
const MAX_SECONDS = Number(opts["max-seconds"]);
const PEERS = opts.peers
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
for (const p of PEERS) if (!KNOWN_PEERS.includes(p)) die(`unknown peer ${p} (known: ${KNOWN_PEERS.join(", ")})`);
const TLS_VERSIONS = opts.tls.split(",").map((s) => s.trim());
for (const v of TLS_VERSIONS) if (!["1.2", "1.3"].includes(v)) die(`--tls: ${v} is not 1.2 or 1.3`);
if (!(CASE_TIMEOUT > 0) || !(MAX_SECONDS > 0)) die("--case-timeout and --max-seconds must be positive");

// ---------------------------------------------------------------- processes
const children = new Set();
let workDir = null;

function cleanup() {
    for (const c of children) {
        try {
            c.kill("SIGKILL");
        } catch {}
    }
    children.clear();
    if (workDir && !opts["keep-work"]) rmSync(workDir, { recursive: true, force: true });
}
process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
});
process.on("SIGTERM", () => {
    cleanup();
    process.exit(143);
});
const results = [];
const deadline = setTimeout(() => {
    console.error(`run.mjs: --max-seconds ${MAX_SECONDS} reached, stopping every peer; the run counts as failed`);
    cleanup();
    const passed = results.filter((c) => c.pass).length;
    console.log(`${passed} passed, ${results.length - passed + 1} failed`);
    process.exit(1);
}, MAX_SECONDS * 1000);

/** Runs a command to completion, bounded by timeoutMs (then SIGKILL). Never rejects. */
function run(cmd, args, { input = null, timeoutMs = CASE_TIMEOUT * 1000, env } = {}) {
    return new Promise((res) => {
        const t0 = Date.now();
        const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env });
        children.add(p);
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => {
            timedOut = true;
            p.kill("SIGKILL");
        }, timeoutMs);
        p.on("error", (err) => {
            clearTimeout(timer);
            children.delete(p);
            res({ code: -1, stdout, stderr: `${stderr}${err.message}`, timedOut, ms: Date.now() - t0 });
        });
        p.on("close", (code, signal) => {
            clearTimeout(timer);
            children.delete(p);
            res({ code: code ?? -1, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
        });
        p.stdin.on("error", () => {});
        if (input !== null) p.stdin.end(input);
        else p.stdin.end();
    });
}

function sh(cmd, args, options = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 600_000, ...options });
    return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim(), error: r.error };
}

// ---------------------------------------------------------------- setup (idempotent)
const hash = (...parts) => createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 12);

function ensurePython() {
    const py = process.env.MTLS_E2E_PYTHON ?? "python3";
    const ver = sh(py, ["--version"]);
    if (ver.code !== 0) die(`${py} not found: ${ver.out}`);
    const req = readFileSync(join(HERE, "requirements.txt"), "utf8");
    const dir = join(CACHE, `venv-${hash(req, ver.out)}`);
    if (existsSync(join(dir, ".mtls-e2e-ok"))) return join(dir, "bin", "python");
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    console.error(`run.mjs: creating Python venv ${dir} (${ver.out}) from requirements.txt`);
    let r = sh(py, ["-m", "venv", tmp]);
    if (r.code !== 0) die(`python -m venv failed: ${r.out}`);
    r = sh(
        join(tmp, "bin", "python"),
        ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", join(HERE, "requirements.txt")],
        {
            timeout: 480_000,
        },
    );
    if (r.code !== 0) {
        rmSync(tmp, { recursive: true, force: true });
        die(`pip install failed: ${r.out.slice(-3000)}`);
    }
    writeFileSync(join(tmp, ".mtls-e2e-ok"), `${req}\n`);
    try {
        renameSync(tmp, dir);
    } catch {
        rmSync(tmp, { recursive: true, force: true }); // another run won the race
    }
    if (!existsSync(join(dir, ".mtls-e2e-ok"))) die(`venv ${dir} incomplete`);
    return join(dir, "bin", "python");
}

function ensureGo() {
    const go = process.env.MTLS_E2E_GO ?? "go";
    const ver = sh(go, ["version"]);
    if (ver.code !== 0) die(`go not found: ${ver.out}`);
    const src = ["go.mod", "main.go"].map((f) => readFileSync(join(HERE, "go", f), "utf8"));
    const bin = join(CACHE, "go", `mtls-e2e-peer-${hash(...src, ver.out)}`);
    if (existsSync(bin)) return bin;
    mkdirSync(dirname(bin), { recursive: true });
    const tmp = `${bin}.tmp-${process.pid}`;
    console.error(`run.mjs: building Go peer ${bin} (${ver.out})`);
    const r = sh(go, ["build", "-trimpath", "-o", tmp, "."], {
        cwd: join(HERE, "go"),
        env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false", CGO_ENABLED: "0" },
    });
    if (r.code !== 0) die(`go build failed: ${r.out}`);
    renameSync(tmp, bin);
    return bin;
}

/** Compiles the Java peer (JDK only) into the cache; returns the class path. */
function ensureJava() {
    const ver = sh("java", ["-version"]);
    if (ver.code !== 0) die(`java not found: ${ver.out}`);
    if (sh("javac", ["-version"]).code !== 0) die("javac not found: the Java peer is compiled from source");
    const src = readFileSync(join(HERE, "java", "MtlsPeer.java"), "utf8");
    const dir = join(CACHE, "java", `mtls-e2e-peer-${hash(src, ver.out)}`);
    if (existsSync(join(dir, "MtlsPeer.class"))) return dir;
    mkdirSync(dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    console.error(`run.mjs: compiling Java peer ${dir} (${ver.out.split("\n")[0]})`);
    const r = sh("javac", ["-d", tmp, join(HERE, "java", "MtlsPeer.java")]);
    if (r.code !== 0) die(`javac failed: ${r.out}`);
    try {
        renameSync(tmp, dir);
    } catch {
        rmSync(tmp, { recursive: true, force: true }); // another run won the race
    }
    return dir;
}

const usesPython = PEERS.includes("python");
const usesGo = PEERS.includes("go");
const usesJava = PEERS.includes("java");
const PYTHON = usesPython || opts["setup-only"] ? ensurePython() : null;
const GOPEER = usesGo || opts["setup-only"] ? ensureGo() : null;
const JAVAPEER = usesJava || opts["setup-only"] ? ensureJava() : null;
// A short-lived JVM per client call: C1 only and the serial collector start fastest.
const JAVA = (mode) => ["java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", JAVAPEER, "MtlsPeer", mode]];
for (const tool of ["openssl", "curl"])
    if (sh(tool, ["--version"]).error && sh(tool, ["version"]).error) die(`${tool} not found`);
if (opts["setup-only"]) {
    console.log(`python: ${PYTHON}\ngo peer: ${GOPEER}\njava peer: ${JAVAPEER}`);
    clearTimeout(deadline);
    process.exit(0);
}

const versions = {
    openssl: sh("openssl", ["version"]).out,
    curl: sh("curl", ["--version"]).out.split("\n")[0],
    node: process.version,
    go: usesGo ? sh(process.env.MTLS_E2E_GO ?? "go", ["version"]).out : null,
    python: usesPython
        ? sh(PYTHON, [
              "-c",
              "import sys,ssl,fastapi,uvicorn,httpx;print(sys.version.split()[0],ssl.OPENSSL_VERSION,'fastapi',fastapi.__version__,'uvicorn',uvicorn.__version__,'httpx',httpx.__version__)",
          ]).out
        : null,
    java: usesJava ? sh("java", ["-version"]).out.split("\n")[0] : null,
};

// ---------------------------------------------------------------- scenario
if (!opts.scenario) die(`--scenario is required\n${USAGE}`);
let scenario;
try {
    scenario = JSON.parse(readFileSync(opts.scenario, "utf8"));
} catch (err) {
    die(`cannot read scenario ${opts.scenario}: ${err.message}`);
}
const base = dirname(resolve(opts.scenario));
const absDir = (d) => (d === null || d === undefined ? null : isAbsolute(d) ? d : resolve(base, d));
const need = (dir, files, what) => {
    for (const f of files) if (!existsSync(join(dir, f))) die(`${what}: ${join(dir, f)} missing`);
};

const S = scenario.server ?? die("scenario.server missing");
S.dir = absDir(S.dir);
if (!S.dnsName) die("server.dnsName missing");
if (!Array.isArray(S.allowedClients)) die("server.allowedClients must be an array");
need(S.dir, ["ca.crt", "tls.crt", "tls.key"], "server");
const JAVA_STORES = ["keystore.p12", "truststore.p12", "keystore-password"];
if (usesJava) need(S.dir, JAVA_STORES, "server (the Java peer serves from the PKCS#12 stores)");
const EXPECTS = ["ok", "forbidden", "refused"];
const clients = (scenario.clients ?? []).map((c, i) => {
    const e = { ...c, label: c.label ?? `client ${i + 1}`, dir: absDir(c.dir) };
    if (!EXPECTS.includes(e.expect)) die(`client "${e.label}": expect must be one of ${EXPECTS.join(", ")}`);
    if (e.dir) need(e.dir, ["tls.crt", "tls.key"], `client "${e.label}"`);
    if (e.verify && !["pass", "fail", "skip"].includes(e.verify))
        die(`client "${e.label}": verify must be pass, fail or skip`);
    return e;
});
const badServers = (scenario.badServers ?? []).map((b, i) => {
    const e = { ...b, label: b.label ?? `bad server ${i + 1}`, dir: absDir(b.dir), dnsName: b.dnsName ?? S.dnsName };
    if ((e.expect ?? "refused") !== "refused") die(`bad server "${e.label}": expect can only be "refused"`);
    need(e.dir, ["tls.crt", "tls.key"], `bad server "${e.label}"`);
    if (usesJava) need(e.dir, JAVA_STORES, `bad server "${e.label}" (the Java peer serves from the PKCS#12 stores)`);
    return e;
});
const livenessEntry =
    clients.find((c) => c.label === S.livenessClient) ??
    clients.find((c) => c.expect === "ok" && c.dir) ??
    die('scenario needs a client with expect "ok" and a dir: it proves each server is up before refusals count');

// Trust anchor a client uses: its own ca.crt when it is expected to get through
// (what the real service would use), the server's ca.crt when it is expected to be
// refused (so that the refusal can only be the server's doing).
const clientCA = (c) =>
    c.caFile
        ? absDir(c.caFile)
        : c.expect !== "refused" && c.dir && existsSync(join(c.dir, "ca.crt"))
          ? join(c.dir, "ca.crt")
          : join(S.dir, "ca.crt");

// ---------------------------------------------------------------- work dir
workDir = mkdtempSync(join(tmpdir(), "mtls-peers-run-"));
if (!relative(REPO, workDir).startsWith("..")) die(`work dir ${workDir} is inside the repo; set TMPDIR`);

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const splitCache = new Map();
/** For OpenSSL, which takes the leaf and the intermediates in separate files. */
function split(dir) {
    if (splitCache.has(dir)) return splitCache.get(dir);
    const blocks = readFileSync(join(dir, "tls.crt"), "utf8").match(PEM_CERT) ?? [];
    if (!blocks.length) die(`${dir}/tls.crt holds no PEM certificate`);
    const d = join(workDir, `split-${splitCache.size}`);
    mkdirSync(d);
    const out = {
        leaf: join(d, "leaf.pem"),
        chain: blocks.length > 1 ? join(d, "chain.pem") : null,
        count: blocks.length,
    };
    writeFileSync(out.leaf, `${blocks[0]}\n`);
    if (out.chain) writeFileSync(out.chain, `${blocks.slice(1).join("\n")}\n`);
    splitCache.set(dir, out);
    return out;
}

// Built-in checks: a self-signed certificate claiming an allowed name, and (if the
// scenario has none) a client without certificate.
if (scenario.builtins !== false) {
    const cn = S.allowedClients[0] ?? "impersonator";
    const d = join(workDir, "builtin-self-signed");
    mkdirSync(d);
    const r = sh("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        `/CN=${cn}`,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=clientAuth",
        "-addext",
        `subjectAltName=DNS:${cn}`,
        "-keyout",
        join(d, "tls.key"),
        "-out",
        join(d, "tls.crt"),
    ]);
    if (r.code !== 0) die(`openssl req (built-in self-signed client) failed: ${r.out}`);
    clients.push({ label: `builtin: self-signed "${cn}"`, dir: d, expect: "refused", builtin: true });
    if (!clients.some((c) => !c.dir))
        clients.push({ label: "builtin: no client cert", dir: null, expect: "refused", builtin: true });
}

// ---------------------------------------------------------------- servers
const SERVER_DESC = {
    openssl: "openssl s_server -www",
    python: "uvicorn+FastAPI",
    go: "Go net/http",
    node: "Node https",
    java: "Java SSLServerSocket (JSSE, PKCS#12 stores)",
};

/** Starts a server peer; resolves { port, stop(), log() } or { error }. */
function startServer(peer, dir, { noClientAuth = false } = {}) {
    const allowed = S.allowedClients.join(",");
    const life = String(Math.ceil(MAX_SECONDS) + 30);
    let cmd;
    let args;
    if (peer === "openssl") {
        const s = split(dir);
        cmd = "timeout";
        args = [
            "-k",
            "5",
            life,
            "openssl",
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-www",
            "-cert",
            s.leaf,
            "-key",
            join(dir, "tls.key"),
        ];
        if (s.chain) args.push("-cert_chain", s.chain);
        // -Verify 4: a client certificate is required; depth 4 leaves room for intermediates
        // (depth 1 would already allow leaf + one intermediate + root).
        if (!noClientAuth) args.push("-CAfile", join(dir, "ca.crt"), "-Verify", "4", "-verify_return_error");
    } else {
        const common = [
            "server",
            "--dir",
            dir,
            "--allowed",
            allowed,
            "--max-seconds",
            life,
            ...(noClientAuth ? ["--no-client-auth"] : []),
        ];
        if (peer === "python") [cmd, args] = [PYTHON, [join(HERE, "python", "peer.py"), ...common]];
        if (peer === "go") [cmd, args] = [GOPEER, common];
        if (peer === "node") [cmd, args] = [process.execPath, [join(HERE, "node-peer.mjs"), ...common]];
        if (peer === "java") {
            const [java, javaArgs] = JAVA("server");
            [cmd, args] = [java, [...javaArgs, ...common.slice(1)]];
        }
    }
    return new Promise((res) => {
        const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
        children.add(p);
        let out = "";
        let err = ""; // whole stderr, capped at 4 MB
        let settled = false;
        let exited = false;
        const oneLine = (t) => t.replace(/\s+/g, " ").trim().slice(-400);
        const closed = new Promise((ok) => p.on("close", ok));
        /** Stdin EOF + SIGTERM, SIGKILL after 3 s; resolves once the process is gone. */
        const stop = async () => {
            if (!exited) {
                try {
                    p.stdin.end();
                    p.kill("SIGTERM");
                } catch {}
                const t = setTimeout(() => p.kill("SIGKILL"), 3000);
                await closed;
                clearTimeout(t);
            }
            children.delete(p);
        };
        const finish = (v) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            res(v);
        };
        const timer = setTimeout(() => {
            stop();
            finish({ error: `no READY within 30 s; stderr: ${oneLine(err)}` });
        }, 30_000);

        p.stdout.on("data", (d) => {
            out += d;
            const m = out.match(/^READY (\d+)$/m) ?? out.match(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
            if (m)
                finish({
                    port: Number(m[1]),
                    stop,
                    log: () => err,
                    mark: () => err.length,
                    since: (i) => err.slice(i),
                });
        });
        p.stderr.on("data", (d) => {
            if (err.length < 4_000_000) err += d;
        });
        p.stdin.on("error", () => {});
        p.on("error", (e) => finish({ error: e.message }));
        p.on("close", (code) => {
            exited = true;
            children.delete(p);
            finish({ error: `exited with ${code} before READY; stderr: ${oneLine(err)}` });
        });
    });
}

// ---------------------------------------------------------------- clients
/**
 * One HTTPS GET /api/data from a client peer. Returns
 * { outcome, status?, body?, serverCN?, tlsVersion?, error? } where outcome is
 * http | tls_remote (the server refused: TLS alert) | tls_local (this client refused
 * the server's certificate) | tls_other | reset | connect_error | timeout | error.
 */
async function clientRequest(peer, { port, dnsName, ca, dir, tls }) {
    const url = `https://${dnsName}:${port}/api/data`;
    const cert = dir ? join(dir, "tls.crt") : null;
    const key = dir ? join(dir, "tls.key") : null;
    const timeoutMs = CASE_TIMEOUT * 1000 + 2000;
    if (peer === "openssl") {
        const args = [
            "s_client",
            "-brief",
            "-ign_eof",
            "-connect",
            `127.0.0.1:${port}`,
            "-servername",
            dnsName,
            "-verify_hostname",
            dnsName,
            "-verify_return_error",
            "-CAfile",
            ca,
        ];
        if (dir) {
            const s = split(dir);
            args.push("-cert", s.leaf, "-key", key);
            if (s.chain) args.push("-cert_chain", s.chain);
        }
        if (tls === "1.2") args.push("-tls1_2");
        const r = await run("openssl", args, {
            input: `GET /api/data HTTP/1.1\r\nHost: ${dnsName}:${port}\r\nConnection: close\r\n\r\n`,
            timeoutMs,
        });
        return parseOpenSSLClient(r);
    }
    if (peer === "curl") {
        const args = [
            "-sS",
            "-v",
            "--max-time",
            String(CASE_TIMEOUT),
            "--cacert",
            ca,
            "--resolve",
            `${dnsName}:${port}:127.0.0.1`,
            "-w",
            "\n@@HTTP@@%{http_code}",
            url,
        ];
        if (dir) args.push("--cert", cert, "--key", key);
        if (tls === "1.2") args.push("--tls-max", "1.2");
        const r = await run("curl", args, { timeoutMs });
        return parseCurl(r);
    }
    const common = [
        "client",
        "--url",
        url,
        "--connect",
        `127.0.0.1:${port}`,
        "--ca",
        ca,
        "--servername",
        dnsName,
        "--timeout",
        String(CASE_TIMEOUT),
    ];
    if (dir) common.push("--cert", cert, "--key", key);
    if (tls === "1.2") common.push("--tls", "1.2");
    let r;
    if (peer === "python") r = await run(PYTHON, [join(HERE, "python", "peer.py"), ...common], { timeoutMs });
    if (peer === "go") r = await run(GOPEER, common, { timeoutMs });
    if (peer === "node") r = await run(process.execPath, [join(HERE, "node-peer.mjs"), ...common], { timeoutMs });
    if (peer === "java") {
        const [java, javaArgs] = JAVA("client");
        r = await run(java, [...javaArgs, ...javaClientArgs({ url, port, dnsName, ca, dir, tls })], { timeoutMs });
    }
    if (r.timedOut) return { outcome: "timeout", error: `killed after ${timeoutMs} ms` };
    const line = r.stdout.trim().split("\n").pop();
    try {
        return JSON.parse(line);
    } catch {
        return {
            outcome: "error",
            error: `peer printed no result (exit ${r.code}): ${(r.stderr || r.stdout).slice(-400)}`,
        };
    }
}

/**
 * The Java client's arguments: the keystore of `dir` when it has one (else its PEM pair),
 * and its truststore when it trusts its own CA bundle (else the PEM file given).
 */
function javaClientArgs({ url, port, dnsName, ca, dir, tls }) {
    const args = [
        "--url",
        url,
        "--connect",
        `127.0.0.1:${port}`,
        "--servername",
        dnsName,
        "--timeout",
        String(CASE_TIMEOUT),
    ];
    const has = (file) => dir && existsSync(join(dir, file));
    if (has("keystore-password")) args.push("--password-file", join(dir, "keystore-password"));
    if (has("keystore.p12")) args.push("--keystore", join(dir, "keystore.p12"));
    else if (dir) args.push("--cert", join(dir, "tls.crt"), "--key", join(dir, "tls.key"));
    if (dir && ca === join(dir, "ca.crt") && has("truststore.p12"))
        args.push("--truststore", join(dir, "truststore.p12"));
    else args.push("--ca", ca);
    if (tls === "1.2") args.push("--tls", "1.2");
    return args;
}

/** JSON body, or the client certificate read off openssl s_server's -www HTML page. */
function parseBody(raw) {
    if (typeof raw !== "string") return raw;
    try {
        return JSON.parse(raw);
    } catch {}
    const at = raw.indexOf("Client certificate");
    if (at >= 0) {
        const sec = raw.slice(at);
        const subject = sec.match(/Subject: (.*)/)?.[1] ?? "";
        return {
            peer: "openssl",
            cn: subject.match(/CN\s*=\s*([^,\n]+)/)?.[1]?.trim() ?? null,
            uris: [...sec.matchAll(/URI:([^,\s]+)/g)].map((m) => m[1]),
        };
    }
    if (/<HTML>/i.test(raw))
        return { peer: "openssl", cn: null, uris: [], note: "no client certificate on the s_server page" };
    return raw.slice(0, 500);
}

/** Body of a raw HTTP/1.x response (as s_client prints it), de-chunked if needed. */
function httpBody(text) {
    const m = text.match(/\r?\n\r?\n/);
    if (!m) return "";
    const head = text.slice(0, m.index);
    let body = text.slice(m.index + m[0].length);
    if (/^transfer-encoding:\s*chunked/im.test(head)) {
        let out = "";
        for (let i = 0; i < 1000; i++) {
            const nl = body.indexOf("\r\n");
            const n = parseInt(body.slice(0, nl), 16);
            if (nl < 0 || !(n > 0)) break;
            out += body.slice(nl + 2, nl + 2 + n);
            body = body.slice(nl + 2 + n + 2);
        }
        body = out;
    }
    return parseBody(body);
}

function parseOpenSSLClient(r) {
    const all = `${r.stdout}\n${r.stderr}`;
    const serverCN = r.stderr.match(/Peer certificate: .*?CN\s*=\s*([^,\n]+)/)?.[1]?.trim();
    const tlsVersion = r.stderr.match(/Protocol version: (\S+)/)?.[1];
    const m = r.stdout.match(/HTTP\/1\.[01] (\d{3})/);
    if (m) {
        const text = r.stdout.slice(m.index);
        return { outcome: "http", status: Number(m[1]), body: httpBody(text), serverCN, tlsVersion };
    }
    const errLine =
        (r.stderr.match(/^.*(error|errno|alert|verify).*$/gim) ?? []).slice(-2).join(" | ") ||
        r.stderr.trim().slice(-300);
    if (r.timedOut) return { outcome: "timeout", error: errLine };
    if (/certificate verify failed|verify error/i.test(all))
        return { outcome: "tls_local", error: errLine, serverCN, tlsVersion };
    if (/alert/i.test(all)) return { outcome: "tls_remote", error: errLine, serverCN, tlsVersion };
    if (/Connection refused|errno=111/i.test(all)) return { outcome: "connect_error", error: errLine };
    if (/errno=104|reset by peer|unexpected eof|CONNECTION CLOSED BY SERVER/i.test(all))
        return { outcome: "reset", error: errLine, serverCN, tlsVersion };
    if (/SSL routines/i.test(all)) return { outcome: "tls_other", error: errLine, serverCN, tlsVersion };
    return { outcome: "error", error: `exit ${r.code}: ${errLine}` };
}

function parseCurl(r) {
    const i = r.stdout.lastIndexOf("\n@@HTTP@@");
    const codeStr = i >= 0 ? r.stdout.slice(i + 9).trim() : "000";
    const lines = r.stderr.trim().split("\n");
    const msg = lines.find((l) => /^curl: \(\d+\)/.test(l)) ?? lines.pop() ?? "";
    if (r.code === 0 && codeStr !== "000") {
        const raw = r.stdout.slice(0, i);
        return {
            outcome: "http",
            status: Number(codeStr),
            body: parseBody(raw),
            tlsVersion: r.stderr.match(/SSL connection using (TLSv[\d.]+)/)?.[1],
        };
    }
    const err = `curl exit ${r.code}: ${msg}`;
    if (r.timedOut || r.code === 28) return { outcome: "timeout", error: err };
    // -v shows the alerts: "(IN), TLS alert, certificate expired (557)". curl reports some
    // alerts from the server as its own verification failure (exit 60, e.g. "certificate
    // expired"), so an incoming alert decides first.
    const alertIn = r.stderr.match(/\(IN\), TLS alert, (?!close notify)([^\n(]+)/)?.[1]?.trim();
    if (alertIn) return { outcome: "tls_remote", error: `${err} (alert from server: ${alertIn})` };
    if (r.code === 60 || /SSL certificate problem|certificate subject name|verify failed/i.test(msg))
        return { outcome: "tls_local", error: err };
    if (/alert/i.test(msg)) return { outcome: "tls_remote", error: err };
    if (r.code === 7) return { outcome: "connect_error", error: err };
    // 55: the server closed the connection right after the handshake (TLS 1.3: the
    // client's handshake is done before the server has judged its certificate) and
    // curl hit the closed socket while sending, before reading the server's alert.
    if (
        /reset by peer|errno 104|unexpected eof|SSL_ERROR_SYSCALL|broken pipe|getpeername/i.test(msg) ||
        [52, 55, 56].includes(r.code)
    )
        return { outcome: "reset", error: err };
    if (r.code === 35) return { outcome: "tls_other", error: err };
    return { outcome: "error", error: err };
}

// ---------------------------------------------------------------- judging
const log = (s = "") => {
    if (!opts.quiet) console.log(s);
};
function record(c) {
    results.push(c);
    const line = `  ${c.pass ? "PASS" : "FAIL"}  ${c.clientPeer.padEnd(8)} ${c.case.padEnd(40).slice(0, 40)} expect ${c.expect.padEnd(9)} got ${c.got}${c.detail ? `  [${c.detail}]` : ""}`;
    if (opts.quiet && !c.pass) console.log(`  ${c.kind} server=${c.serverPeer} tls=${c.tls}${line}`);
    else log(line);
}

/** Expected outcome for a client entry against a server peer. */
function effectiveExpect(entry, serverPeer) {
    // openssl s_server -www has no HTTP allowlist: a valid but not-allowed client only
    // proves the handshake, so "forbidden" counts as a completed handshake there.
    if (serverPeer === "openssl" && entry.expect === "forbidden") return "handshake";
    return entry.expect;
}

const TLS_LOG = /handshake|certificate|alert|verif|tls|ssl/i;
// A server log line that says it refused the peer's certificate (needed when the client
// saw only a reset/EOF: uvicorn/asyncio and Node close without sending a TLS alert).
const REFUSAL_EVIDENCE = /certificate|verif|alert|authorizationError|CERT_|UNABLE_TO|SELF_SIGNED|INVALID_PURPOSE/i;

function judgeHandshake(entry, serverPeer, r, serverLog) {
    const want = effectiveExpect(entry, serverPeer);
    const parsed = parseBody(r.body);
    const body = parsed && typeof parsed === "object" ? parsed : {};
    const got =
        r.outcome === "http"
            ? r.status === 200
                ? "ok"
                : r.status === 403
                  ? "forbidden"
                  : `http ${r.status}`
            : ({
                  tls_remote: "refused",
                  reset: "refused (reset)",
                  tls_local: "client-side verify failure",
                  tls_other: "tls error",
              }[r.outcome] ?? r.outcome);
    const notes = [];
    let pass = false;
    if (want === "ok" || want === "handshake") {
        pass = r.outcome === "http" && r.status === 200;
        if (pass && entry.expectCN !== undefined && body.cn !== entry.expectCN) {
            pass = false;
            notes.push(`server saw CN ${JSON.stringify(body.cn)}, want ${JSON.stringify(entry.expectCN)}`);
        }
        if (pass && entry.expectURI !== undefined && !(body.uris ?? []).includes(entry.expectURI)) {
            pass = false;
            notes.push(`server saw URIs ${JSON.stringify(body.uris)}, want ${entry.expectURI}`);
        }
        if (pass && S.name && r.serverCN !== undefined && r.serverCN !== null && r.serverCN !== S.name) {
            pass = false;
            notes.push(`client saw server CN ${r.serverCN}, want ${S.name}`);
        }
        if (r.outcome === "http")
            notes.push(`cn=${body.cn ?? "-"}${(body.uris ?? []).length ? ` uri=${body.uris.join(",")}` : ""}`);
        if (want === "handshake") notes.push("s_server has no allowlist: handshake only");
    } else if (want === "forbidden") {
        pass = r.outcome === "http" && r.status === 403;
        if (pass && entry.expectCN !== undefined && body.cn !== entry.expectCN) {
            pass = false;
            notes.push(`403 names CN ${JSON.stringify(body.cn)}, want ${JSON.stringify(entry.expectCN)}`);
        }
        if (r.outcome === "http") notes.push(`cn=${body.cn ?? "-"}`);
    } else if (want === "refused") {
        // The server must be the one refusing: an alert from it, or the connection torn
        // down right after the handshake while the server logged a TLS error; never a
        // TCP connect failure, a timeout or a failure of the client's own verification.
        pass = r.outcome === "tls_remote" || (r.outcome === "reset" && REFUSAL_EVIDENCE.test(serverLog));
        if (r.outcome === "reset" && !pass) notes.push("reset without a certificate refusal in the server's log");
    }
    if (serverLog && r.outcome !== "http") notes.push(`server: ${serverLog.replace(/\s+/g, " ").trim().slice(0, 160)}`);
    if (r.error) notes.push(r.error.replace(/\s+/g, " ").slice(0, 200));
    if (r.tlsVersion) notes.push(r.tlsVersion);
    return { expect: want, got, pass, detail: notes.join("; "), outcome: r.outcome, status: r.status ?? null };
}

// ---------------------------------------------------------------- phases
const t0 = Date.now();
const servers = SERVER_PEERS.filter((p) => PEERS.includes(p));
const clientPeers = KNOWN_PEERS.filter((p) => PEERS.includes(p));

log(`mTLS peers: servers [${servers.join(", ")}], clients [${clientPeers.join(", ")}], TLS ${TLS_VERSIONS.join(", ")}`);
for (const [k, v] of Object.entries(versions)) if (v) log(`  ${k}: ${v}`);

// 1. openssl verify of every leaf (chain to ca.crt, purpose, and the server's name).
log("\n[verify] openssl verify -CAfile <server ca.crt> -untrusted <intermediates> -purpose ...");
async function opensslVerify(label, dir, purpose, hostname, expect) {
    const s = split(dir);
    const args = ["verify", "-CAfile", join(S.dir, "ca.crt"), "-purpose", purpose];
    if (s.chain) args.push("-untrusted", s.chain);
    if (hostname) args.push("-verify_hostname", hostname);
    args.push(s.leaf);
    const r = await run("openssl", args, { timeoutMs: 10_000 });
    const ok = r.code === 0 && /: OK\s*$/m.test(r.stdout);
    const why = (r.stderr.match(/error \d+ at \d+ depth lookup: .*/) ?? [r.stderr.trim().split("\n")[0] ?? ""])[0];
    record({
        kind: "verify",
        tls: "-",
        clientPeer: "openssl",
        serverPeer: "-",
        case: label,
        expect,
        got: ok ? "pass" : "fail",
        pass: (expect === "pass") === ok,
        detail: `${purpose}${hostname ? ` ${hostname}` : ""}${ok ? "" : `: ${why}`}`,
    });
}
await opensslVerify(`server ${S.name ?? ""} (${relative(base, S.dir)})`, S.dir, "sslserver", S.dnsName, "pass");
for (const c of clients) {
    if (!c.dir) continue;
    const expect = c.verify ?? (c.expect === "refused" ? "fail" : "pass");
    if (expect === "skip") continue;
    await opensslVerify(`client ${c.label}`, c.dir, "sslclient", null, expect);
}
for (const b of badServers) await opensslVerify(`bad server ${b.label}`, b.dir, "sslserver", b.dnsName, "fail");

// 2. Each server peer: liveness, every client entry x every client peer, liveness again, plain TCP.
async function liveness(serverPeer, port, when, tls) {
    const r = await clientRequest("curl", {
        port,
        dnsName: S.dnsName,
        ca: clientCA(livenessEntry),
        dir: livenessEntry.dir,
        tls,
    });
    const pass = r.outcome === "http";
    record({
        kind: "liveness",
        tls,
        clientPeer: "curl",
        serverPeer,
        case: `server up ${when} (${livenessEntry.label})`,
        expect: "http",
        got: r.outcome === "http" ? `http ${r.status}` : r.outcome,
        pass,
        detail: r.error ?? "",
    });
    return pass;
}

async function plainTcp(serverPeer, port) {
    // a) raw TCP: plaintext HTTP request; b) curl http://. Neither may be served.
    const raw = await new Promise((res) => {
        const sock = net.connect({ host: "127.0.0.1", port });
        let data = "";
        let connected = false;
        const done = (why) => {
            sock.destroy();
            clearTimeout(timer);
            res({ connected, data, why });
        };
        const timer = setTimeout(() => done("timeout"), 5000);
        sock.on("connect", () => {
            connected = true;
            sock.write(`GET /api/data HTTP/1.1\r\nHost: ${S.dnsName}\r\nConnection: close\r\n\r\n`);
        });
        sock.on("data", (d) => {
            data += d.toString("latin1");
            if (data.length > 65536) done("overflow");
        });
        sock.on("end", () => done("closed"));
        sock.on("error", (e) => done(e.code ?? e.message));
    });
    const status = raw.data.match(/^HTTP\/1\.[01] (\d{3})/)?.[1];
    const servedRaw = status?.startsWith("2");
    record({
        kind: "plainTcp",
        tls: "-",
        clientPeer: "raw-tcp",
        serverPeer,
        case: "plaintext HTTP to the TLS port",
        expect: "refused",
        got: !raw.connected
            ? `not connected (${raw.why})`
            : status
              ? `HTTP ${status}`
              : `${raw.why}, ${raw.data.length} bytes, no HTTP`,
        pass: raw.connected && !servedRaw && raw.why !== "timeout",
        detail: status ? raw.data.split("\r\n")[0] : "",
    });
    const r = await run(
        "curl",
        ["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/api/data`],
        { timeoutMs: 8000 },
    );
    const code = r.stdout.trim();
    record({
        kind: "plainTcp",
        tls: "-",
        clientPeer: "curl",
        serverPeer,
        case: "curl http:// to the TLS port",
        expect: "refused",
        got: r.code === 0 ? `HTTP ${code}` : `curl exit ${r.code}`,
        pass: r.code !== 7 && r.code !== 28 && !code.startsWith("2"),
        detail: r.stderr.trim().split("\n").pop() ?? "",
    });
}

for (const serverPeer of servers) {
    log(
        `\n[server ${serverPeer}: ${SERVER_DESC[serverPeer]} with ${relative(base, S.dir) || S.dir}, allow ${S.allowedClients.join(",")}]`,
    );
    const srv = await startServer(serverPeer, S.dir);
    if (srv.error) {
        for (const tls of TLS_VERSIONS) {
            record({
                kind: "liveness",
                tls,
                clientPeer: "-",
                serverPeer,
                case: "server start",
                expect: "http",
                got: "did not start",
                pass: false,
                detail: srv.error,
            });
            for (const entry of clients)
                for (const clientPeer of clientPeers)
                    record({
                        kind: "handshake",
                        tls,
                        clientPeer,
                        serverPeer,
                        case: entry.label,
                        expect: effectiveExpect(entry, serverPeer),
                        got: "not run",
                        pass: false,
                        detail: "server did not start",
                    });
        }
        continue;
    }
    for (const tls of TLS_VERSIONS) {
        log(` port ${srv.port}, clients TLS ${tls === "1.3" ? "uncapped (1.3)" : "capped at 1.2"}`);
        if (!(await liveness(serverPeer, srv.port, "before", tls))) {
            for (const entry of clients)
                for (const clientPeer of clientPeers)
                    record({
                        kind: "handshake",
                        tls,
                        clientPeer,
                        serverPeer,
                        case: entry.label,
                        expect: effectiveExpect(entry, serverPeer),
                        got: "not run",
                        pass: false,
                        detail: "server not up",
                    });
            continue;
        }
        for (const entry of clients) {
            for (const clientPeer of clientPeers) {
                const mark = srv.mark();
                const r = await clientRequest(clientPeer, {
                    port: srv.port,
                    dnsName: S.dnsName,
                    ca: clientCA(entry),
                    dir: entry.dir,
                    tls,
                });
                // what the server logged about this connection (its stderr may lag a little)
                for (let i = 0; i < 10 && r.outcome !== "http" && !REFUSAL_EVIDENCE.test(srv.since(mark)); i++)
                    await new Promise((ok) => setTimeout(ok, 50));
                const serverLog = srv
                    .since(mark)
                    .split("\n")
                    .filter((l) => TLS_LOG.test(l) && !/^(depth=|verify return:)/.test(l))
                    .join(" | ");
                record({
                    kind: "handshake",
                    tls,
                    clientPeer,
                    serverPeer,
                    case: entry.label,
                    serverLog,
                    ...judgeHandshake(entry, serverPeer, r, serverLog),
                });
            }
        }
        await liveness(serverPeer, srv.port, "after", tls);
    }
    if (scenario.plainTcp) await plainTcp(serverPeer, srv.port);
    await srv.stop();
    results.filter((c) => c.serverPeer === serverPeer && c.kind === "handshake" && !c.pass).length &&
        log(`  server ${serverPeer} log (tail): ${srv.log().trim().split("\n").slice(-5).join(" | ").slice(0, 1000)}`);
}

// 3. Bad servers (no client auth, so a refusal can only be the client's): control with
// curl -k (proves the bad server is up and speaking TLS), then every client peer.
for (const b of badServers) {
    for (const serverPeer of servers) {
        log(
            `\n[bad server "${b.label}": ${SERVER_DESC[serverPeer]} with ${relative(base, b.dir)}, dialled as ${b.dnsName}]`,
        );
        const srv = await startServer(serverPeer, b.dir, { noClientAuth: true });
        if (srv.error) {
            for (const tls of TLS_VERSIONS) {
                record({
                    kind: "liveness",
                    tls,
                    clientPeer: "-",
                    serverPeer,
                    case: `bad server ${b.label}: start`,
                    expect: "http",
                    got: "did not start",
                    pass: false,
                    detail: srv.error,
                });
                for (const clientPeer of clientPeers)
                    record({
                        kind: "badServer",
                        tls,
                        clientPeer,
                        serverPeer,
                        case: b.label,
                        expect: "refused",
                        got: "not run",
                        pass: false,
                        detail: "bad server did not start",
                    });
            }
            continue;
        }
        for (const tls of TLS_VERSIONS) {
            log(` port ${srv.port}, clients TLS ${tls === "1.3" ? "uncapped (1.3)" : "capped at 1.2"}`);
            const ctl = await run("curl", [
                "-sS",
                "-k",
                "--max-time",
                String(CASE_TIMEOUT),
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--resolve",
                `${b.dnsName}:${srv.port}:127.0.0.1`,
                `https://${b.dnsName}:${srv.port}/api/data`,
            ]);
            const up = ctl.code === 0 && ctl.stdout.trim() === "200";
            record({
                kind: "liveness",
                tls,
                clientPeer: "curl -k",
                serverPeer,
                case: `bad server ${b.label}: up (no verification)`,
                expect: "http",
                got: ctl.code === 0 ? `http ${ctl.stdout.trim()}` : `curl exit ${ctl.code}`,
                pass: up,
                detail: ctl.stderr.trim(),
            });
            for (const clientPeer of clientPeers) {
                if (!up) {
                    record({
                        kind: "badServer",
                        tls,
                        clientPeer,
                        serverPeer,
                        case: b.label,
                        expect: "refused",
                        got: "not run",
                        pass: false,
                        detail: "bad server not up",
                    });
                    continue;
                }
                const r = await clientRequest(clientPeer, {
                    port: srv.port,
                    dnsName: b.dnsName,
                    ca: join(S.dir, "ca.crt"),
                    dir: livenessEntry.dir,
                    tls,
                });
                const got =
                    r.outcome === "tls_local"
                        ? "refused by client"
                        : r.outcome === "http"
                          ? `http ${r.status} (accepted!)`
                          : r.outcome;
                record({
                    kind: "badServer",
                    tls,
                    clientPeer,
                    serverPeer,
                    case: b.label,
                    expect: "refused",
                    got,
                    pass: r.outcome === "tls_local",
                    detail: (r.error ?? "").replace(/\s+/g, " ").slice(0, 200),
                });
            }
        }
        await srv.stop();
    }
}

// ---------------------------------------------------------------- report
const isRefusal = (c) => c.expect === "refused";
function tally(key, peers) {
    const out = {};
    for (const p of peers) {
        const cs = results.filter(
            (c) => c[key] === p && (c.kind === "handshake" || c.kind === "badServer" || c.kind === "plainTcp"),
        );
        out[p] = {
            tried: cs.length,
            passed: cs.filter((c) => c.pass).length,
            failed: cs.filter((c) => !c.pass).length,
            refusalsExpected: cs.filter(isRefusal).length,
            refusedAsExpected: cs.filter((c) => isRefusal(c) && c.pass).length,
        };
    }
    return out;
}
const perClientPeer = tally("clientPeer", [...clientPeers, ...(scenario.plainTcp ? ["raw-tcp"] : [])]);
const perServerPeer = tally("serverPeer", servers);
const passed = results.filter((c) => c.pass).length;
const failed = results.length - passed;
const durationSeconds = Math.round((Date.now() - t0) / 100) / 10;

console.log("\nper peer (handshake + bad-server + plain-TCP cases): tried / passed / expected refusals refused");
for (const [role, t] of [
    ["client", perClientPeer],
    ["server", perServerPeer],
])
    for (const [p, v] of Object.entries(t))
        console.log(
            `  ${role} ${p.padEnd(8)} ${String(v.tried).padStart(4)} tried  ${String(v.passed).padStart(4)} passed  ${v.refusedAsExpected}/${v.refusalsExpected} refused as expected`,
        );
const byKind = {};
for (const c of results) {
    byKind[c.kind] ??= { passed: 0, failed: 0 };
    byKind[c.kind][c.pass ? "passed" : "failed"]++;
}
console.log(
    `  by kind: ${Object.entries(byKind)
        .map(([k, v]) => `${k} ${v.passed}/${v.passed + v.failed}`)
        .join(", ")}; ${durationSeconds}s`,
);
if (failed) {
    console.log("\nFAILED cases:");
    for (const c of results.filter((x) => !x.pass))
        console.log(
            `  ${c.kind} tls=${c.tls} client=${c.clientPeer} server=${c.serverPeer} "${c.case}": expect ${c.expect}, got ${c.got} ${c.detail ? `[${c.detail}]` : ""}`,
        );
}
if (opts.json) {
    writeFileSync(
        opts.json,
        `${JSON.stringify(
            {
                scenario: resolve(opts.scenario),
                startedAt: new Date(t0).toISOString(),
                durationSeconds,
                peers: { servers, clients: clientPeers },
                tls: TLS_VERSIONS,
                versions,
                cases: results,
                perClientPeer,
                perServerPeer,
                byKind,
                summary: { passed, failed, total: results.length },
            },
            null,
            2,
        )}\n`,
    );
}
if (opts["keep-work"]) console.log(`work dir kept: ${workDir}`);
clearTimeout(deadline);
cleanup();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
