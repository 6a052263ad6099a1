#!/usr/bin/env bash
# Smoke test of the engine installed by engine/build.sh, in a throw-away
# directory outside the repository, with a file backend and no network.
#
# Usage: bash engine/smoke.sh [full|dynamic]
#   full     tls.PrivateKey + tls.SelfSignedCert, random.RandomId and a
#            kubernetes ConfigMap rendered by a k8s.Provider with
#            renderYamlToDirectory (needs the three provider plugins)
#   dynamic  a pulumi.dynamic.Resource and config/outputs only (needs only the
#            CLI, the language host and pulumi-resource-pulumi-nodejs)
# Keeps the temp dir when SMOKE_KEEP=1. Exit status: 0 when all four commands
# (stack init, preview, up, destroy) succeed.
set -uo pipefail
MODE="${1:-full}"
ENGINE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$ENGINE_DIR")"
T="$(mktemp -d "${TMPDIR:-/tmp}/mtls-engine-smoke.XXXXXX")"
chmod 700 "$T"
mkdir -p "$T/state" "$T/rendered" "$T/proj"
chmod 700 "$T/rendered"
cd "$T/proj"
ln -s "$ROOT/node_modules" node_modules

cat >Pulumi.yaml <<'EOF'
name: engine-smoke
runtime: nodejs
EOF
cat >package.json <<'EOF'
{ "name": "engine-smoke", "private": true, "main": "index.ts" }
EOF
cat >tsconfig.json <<'EOF'
{ "compilerOptions": { "strict": true, "target": "es2020", "module": "commonjs", "moduleResolution": "node", "esModuleInterop": true, "skipLibCheck": true }, "files": ["index.ts"] }
EOF
if [ "$MODE" = full ]; then
cat >index.ts <<'EOF'
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as random from "@pulumi/random";
import * as k8s from "@pulumi/kubernetes";

const key = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const ca = new tls.SelfSignedCert("ca", {
    privateKeyPem: key.privateKeyPem,
    isCaCertificate: true,
    validityPeriodHours: 24,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    subject: { commonName: "engine-smoke-ca" },
});
const suffix = new random.RandomId("suffix", { byteLength: 4 });
const render = new k8s.Provider("render", { renderYamlToDirectory: process.env.SMOKE_RENDER_DIR! });
new k8s.core.v1.ConfigMap("ca-bundle", {
    metadata: { name: pulumi.interpolate`ca-bundle-${suffix.hex}` },
    data: { "ca.crt": ca.certPem },
}, { provider: render });

export const caSubject = ca.subject.apply(s => s?.commonName);
export const caCertStart = ca.certPem.apply(p => p.split("\n")[0]);
export const suffixHex = suffix.hex;
EOF
else
cat >index.ts <<'EOF'
import * as pulumi from "@pulumi/pulumi";

class Echo implements pulumi.dynamic.ResourceProvider {
    async create(inputs: any) { return { id: `echo-${inputs.text}`, outs: { text: `${inputs.text}!` } }; }
}
class EchoResource extends pulumi.dynamic.Resource {
    public readonly text!: pulumi.Output<string>;
    constructor(name: string, text: string) { super(new Echo(), name, { text }, {}); }
}
const cfg = new pulumi.Config();
const r = new EchoResource("echo", cfg.get("word") ?? "hello");
export const echoed = r.text;
EOF
fi

export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
export PULUMI_BACKEND_URL="file://$T/state"
export PULUMI_CONFIG_PASSPHRASE=test
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export SMOKE_RENDER_DIR="$T/rendered"
PULUMI=(node "$ROOT/node_modules/pulumi/run.js")

rc=0
step() {
  echo "=== pulumi $*"
  if "${PULUMI[@]}" "$@" --non-interactive 2>&1; then echo "=== ok: $1"; else echo "=== FAILED: pulumi $*"; rc=1; fi
}
echo "smoke dir: $T (mode $MODE, PULUMI_HOME=$PULUMI_HOME)"
if [ "$MODE" = full ]; then
  for d in "$PULUMI_HOME"/plugins/resource-{tls,random,kubernetes}-v*; do
    [ -e "$d/STAND-IN" ] && echo "note: $(basename "$d") is a STAND-IN provider (engine/standin-providers), not Pulumi's"
  done
fi
step stack init dev
[ "$MODE" = dynamic ] && "${PULUMI[@]}" config set word smoke >/dev/null
[ $rc = 0 ] && step preview
[ $rc = 0 ] && step up --yes
if [ $rc = 0 ]; then
  "${PULUMI[@]}" stack output --json 2>&1
  [ "$MODE" = full ] && { echo "=== rendered manifests:"; find "$T/rendered" -type f | sed "s|$T/||"; }
  step destroy --yes
fi
[ "${SMOKE_KEEP:-0}" = 1 ] || rm -rf "$T"
[ $rc = 0 ] && echo "SMOKE ($MODE): PASSED" || echo "SMOKE ($MODE): FAILED"
exit $rc
