// Issues the project's material for the handshake benchmark WITHOUT the engine (used by
// --quick, or --material double): the compiled program runs under the test suite's mocks
// (test/support/pulumiMocks.ts), whose tls test double (test/support/tlsDouble.ts) issues
// real keys and certificates from exactly the arguments the components pass. The files
// are what the ConfigMap (tls.crt = leaf + chain, ca.crt) and the Secret (tls.key) hold.
//
//   node bench/material-double.cjs <compiled build dir> <stack config JSON file> <out dir> <service>...
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [build, configFile, outDir, ...services] = process.argv.slice(2);

async function main() {
    const mocks = require(path.join(build, "test", "support", "pulumiMocks.js"));
    await mocks.setupMocks({ project: "mtls", stack: "bench" });
    const program = require(path.join(build, "infra", "program.js"));
    const config = JSON.parse(fs.readFileSync(configFile, "utf8"));
    mocks.useConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
    const outputs = program.main();
    await mocks.resolveDeep(outputs);
    await new Promise((r) => setTimeout(r, 100));
    for (const svc of services) {
        const cm = mocks.named("kubernetes:core/v1:ConfigMap", `${svc}-certs`).inputs;
        const secret = mocks.named("kubernetes:core/v1:Secret", `${svc}-key`).inputs;
        const dir = path.join(outDir, svc);
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(dir, "tls.crt"), cm.data["tls.crt"], { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "ca.crt"), cm.data["ca.crt"], { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "tls.key"), secret.stringData["tls.key"], { mode: 0o600 });
    }
}

main().then(() => process.exit(0), (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
});
