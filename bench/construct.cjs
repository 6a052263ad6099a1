// Child process of the construction benchmark: one size, one run, fresh process
// (so the kernel's peak RSS is this size's alone).
//
//   node bench/construct.cjs <compiled build dir> <N> <temp render dir>
//
// It runs the compiled infra/program.js deployStack() under pulumi.runtime.setMocks
// with a spec of N generated services. The mocks answer every tls resource with ONE
// fixed certificate set issued once before the clock starts (an ECDSA-P256 CA, one
// leaf key, CSR and certificate, made with the project's tls test double), so no
// cryptography happens inside the timed part; every other resource gets its inputs
// back as its state. Prints one JSON line.
"use strict";
const path = require("node:path");
const { performance } = require("node:perf_hooks");

const [build, nArg, renderDir] = process.argv.slice(2);
const N = Number(nArg);

async function main() {
    const importStart = performance.now();
    const pulumi = require(path.join(build, "node_modules", "@pulumi", "pulumi"));
    const settings = require(path.join(build, "node_modules", "@pulumi", "pulumi", "runtime", "settings"));
    const double = require(path.join(build, "test", "support", "tlsDouble.js"));

    // The fixed material, issued before anything is timed.
    const caKey = double.generateTlsKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const ca = await double.selfSignedCert({
        privateKeyPem: caKey.privateKeyPem, subject: { commonName: "bench root CA" }, isCaCertificate: true,
        setSubjectKeyId: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 43800,
    });
    const leafKey = double.generateTlsKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await double.certRequest({
        privateKeyPem: leafKey.privateKeyPem, subject: { commonName: "svc-0001" },
        dnsNames: ["svc-0001", "svc-0001.bench", "svc-0001.bench.svc", "svc-0001.bench.svc.cluster.local"],
        uris: ["spiffe://bench.internal/ns/bench/sa/svc-0001"],
    });
    const leaf = await double.locallySignedCert({
        certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: caKey.privateKeyPem,
        setSubjectKeyId: true, allowedUses: ["digital_signature", "server_auth", "client_auth"], validityPeriodHours: 2160,
    });
    const fixed = {
        key: { privateKeyPem: leafKey.privateKeyPem, privateKeyPemPkcs8: leafKey.privateKeyPemPkcs8, publicKeyPem: leafKey.publicKeyPem },
        ca: { certPem: ca.certPem, validityStartTime: ca.validityStartTime, validityEndTime: ca.validityEndTime, readyForRenewal: false },
        csr: { certRequestPem: csr.certRequestPem },
        leaf: { certPem: leaf.certPem, validityStartTime: leaf.validityStartTime, validityEndTime: leaf.validityEndTime, readyForRenewal: false },
    };

    const byType = {};
    let custom = 0;
    let components = 0;
    await pulumi.runtime.setMocks({
        async newResource(args) {
            byType[args.type] = (byType[args.type] ?? 0) + 1;
            if (args.custom === false) components += 1;
            else custom += 1;
            let state;
            switch (args.type) {
                case "tls:index/privateKey:PrivateKey": state = { ...args.inputs, ...fixed.key }; break;
                case "tls:index/selfSignedCert:SelfSignedCert": state = { ...args.inputs, ...fixed.ca }; break;
                case "tls:index/certRequest:CertRequest": state = { ...args.inputs, ...fixed.csr }; break;
                case "tls:index/locallySignedCert:LocallySignedCert": state = { ...args.inputs, ...fixed.leaf }; break;
                default:
                    state = args.inputs;
                    if (args.type.startsWith("kubernetes:") && args.custom !== false) {
                        state = { ...state, metadata: { ...(state.metadata ?? {}), name: state.metadata?.name ?? `${args.name}-bench000` } };
                    }
            }
            return { id: `${args.name}-id`, state };
        },
        call(args) {
            return args.inputs;
        },
    }, "mtls", "bench", false);

    const program = require(path.join(build, "infra", "program.js"));
    const { parseStackConfig } = require(path.join(build, "infra", "spec.js"));
    const { benchRawConfig } = await import(path.join(__dirname, "lib", "spec.mjs"));
    const spec = parseStackConfig(benchRawConfig(N, renderDir), { project: "mtls", stack: "bench" });
    const importMs = performance.now() - importStart;

    if (global.gc) global.gc();
    const rssBefore = process.memoryUsage().rss;

    const resolveDeep = async (value) => {
        if (pulumi.Output.isInstance(value)) return resolveDeep(await value.promise());
        if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
        if (value && typeof value === "object") {
            const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)]));
            return Object.fromEntries(entries);
        }
        return value;
    };

    // The timed part: construct the program, then wait until every registration has
    // been answered and every stack output has resolved.
    const t0 = performance.now();
    const outputs = program.deployStack(spec);
    const syncMs = performance.now() - t0;
    await Promise.all([settings.waitForRPCs(), resolveDeep(outputs)]);
    await settings.waitForRPCs();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage();

    // Not timed: check that nothing registers later than what was timed.
    const settledCount = custom + components;
    await new Promise((r) => setTimeout(r, 200));
    await settings.waitForRPCs();
    const resolved = await resolveDeep(outputs);

    const usage = process.resourceUsage();
    const mem = process.memoryUsage();
    process.stdout.write(JSON.stringify({
        n: N,
        importMs,
        syncMs,
        wallMs,
        peakRssMiB: usage.maxRSS / 1024,
        rssBeforeMiB: rssBefore / 2 ** 20,
        heapUsedAfterMiB: mem.heapUsed / 2 ** 20,
        processCpuMs: (cpu.user + cpu.system) / 1000,
        resources: { total: custom + components, custom, components, byType },
        lateRegistrations: custom + components - settledCount,
        outputServices: Object.keys(resolved.services ?? {}).length,
    }) + "\n");
}

main().then(() => process.exit(0), (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
});
