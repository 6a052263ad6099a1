#!/usr/bin/env bash
# Self-test of the mTLS peer harness (test/e2e/peers/run.mjs).
#
#   bash test/e2e/peers/selftest.sh [--keep] [-- extra run.mjs flags]
#
# Generates a throw-away PKI with openssl in a temp dir outside the repo
# (root CA -> intermediate -> leaves; another CA; expired, server-only,
# client-only, self-signed and wrong-SAN certificates), writes a scenario,
# runs the harness and checks that:
#   1. the full scenario passes (exit 0, "N passed, 0 failed", JSON agrees,
#      every peer tried, every expected refusal counted);
#   2. a scenario with deliberately wrong expectations FAILS (exit non-zero,
#      the exact deviating cases reported), so the harness can fail at all.
# --keep leaves the temp dir (material, scenarios, results) and prints its path.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KEEP=0
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --keep) KEEP=1 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "usage: selftest.sh [--keep] [-- run.mjs flags]" >&2; exit 2 ;;
    esac
    shift
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mtls-peers-selftest.XXXXXX")"
case "$WORK" in "$(cd "$HERE/../../.." && pwd)"*) echo "temp dir inside the repo: $WORK" >&2; exit 2 ;; esac
cleanup() { if [ "$KEEP" = 1 ]; then echo "selftest: kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
START=$(date +%s)

NS=shop-dev
TD=selftest.example
M="$WORK/material"
P="$WORK/pki"
mkdir -p "$M" "$P"
umask 077

newkey() { # ALG OUT
    case "$1" in
        p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
        p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$2" ;;
        rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
        rsa3072) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" ;;
        ed25519) openssl genpkey -algorithm ED25519 -out "$2" ;;
        *) echo "unknown key algorithm $1" >&2; return 1 ;;
    esac 2>/dev/null
}

sans() { # SVC -> the DNS names and SPIFFE URI the project gives a service
    echo "DNS:$1,DNS:$1.$NS,DNS:$1.$NS.svc,DNS:$1.$NS.svc.cluster.local,URI:spiffe://$TD/ns/$NS/sa/$1"
}

# --- CAs: root -> intermediate (pathlen 0), and an unrelated CA ---------------
newkey p256 "$P/root.key"
openssl req -x509 -new -key "$P/root.key" -subj "/O=selftest/CN=selftest root CA" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$P/root.crt" 2>/dev/null
newkey p256 "$P/int.key"
openssl req -new -key "$P/int.key" -subj "/O=selftest/CN=selftest intermediate CA" -out "$P/int.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$P/int.ext"
openssl x509 -req -in "$P/int.csr" -CA "$P/root.crt" -CAkey "$P/root.key" -CAcreateserial -days 2 -sha256 \
    -extfile "$P/int.ext" -out "$P/int.crt" 2>/dev/null
newkey p384 "$P/other.key"
openssl req -x509 -new -key "$P/other.key" -subj "/O=elsewhere/CN=other root CA" -days 2 -sha384 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$P/other.crt" 2>/dev/null

# `openssl ca` database, used for the expired certificates (-startdate/-enddate;
# `openssl x509 -not_before/-not_after` needs OpenSSL >= 3.4).
mkdir -p "$P/db/new"
: > "$P/db/index.txt"
echo 1000 > "$P/db/serial"
cat > "$P/ca.cnf" <<EOF
[ ca ]
default_ca = sel
[ sel ]
dir = $P/db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
EOF

# leaf NAME KEYALG EKU SIGNER SAN [past]
#   SIGNER: int (leaf + intermediate in tls.crt), other (other CA), self (self-signed)
#   past:   validity 2020-01-01..2020-01-02 (via `openssl ca`)
leaf() {
    local name=$1 alg=$2 eku=$3 signer=$4 san=$5 when=${6:-now} d="$M/$1"
    mkdir -p "$d"
    newkey "$alg" "$d/tls.key"
    local ku="critical,digitalSignature"
    case "$alg" in rsa*) ku="$ku,keyEncipherment" ;; esac
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=%s\nextendedKeyUsage=%s\nsubjectAltName=%s\nsubjectKeyIdentifier=hash\n' \
        "$ku" "$eku" "$san" > "$P/$name.ext"
    local cn
    cn=$(echo "$name" | sed 's/^\(.*-service\).*/\1/')
    [ -n "${LEAF_CN:-}" ] && cn=$LEAF_CN
    openssl req -new -key "$d/tls.key" -subj "/CN=$cn" -out "$P/$name.csr" 2>/dev/null
    case "$signer" in
        int)
            if [ "$when" = past ]; then
                openssl ca -batch -config "$P/ca.cnf" -cert "$P/int.crt" -keyfile "$P/int.key" \
                    -startdate 20200101000000Z -enddate 20200102000000Z -extfile "$P/$name.ext" \
                    -notext -in "$P/$name.csr" -out "$P/$name.crt" 2>/dev/null
            else
                openssl x509 -req -in "$P/$name.csr" -CA "$P/int.crt" -CAkey "$P/int.key" -CAcreateserial \
                    -days 1 -sha256 -extfile "$P/$name.ext" -out "$P/$name.crt" 2>/dev/null
            fi
            cat "$P/$name.crt" "$P/int.crt" > "$d/tls.crt"
            cp "$P/root.crt" "$d/ca.crt" ;;
        other)
            openssl x509 -req -in "$P/$name.csr" -CA "$P/other.crt" -CAkey "$P/other.key" -CAcreateserial \
                -days 1 -sha384 -extfile "$P/$name.ext" -out "$d/tls.crt" 2>/dev/null
            cp "$P/other.crt" "$d/ca.crt" ;;
        self)
            openssl x509 -req -in "$P/$name.csr" -key "$d/tls.key" -days 1 -extfile "$P/$name.ext" \
                -out "$d/tls.crt" 2>/dev/null
            cp "$d/tls.crt" "$d/ca.crt" ;;
    esac
}

BOTH=serverAuth,clientAuth
leaf user-service p256 $BOTH int "$(sans user-service)"
leaf order-service rsa2048 clientAuth int "$(sans order-service)"
leaf inventory-service ed25519 clientAuth int "$(sans inventory-service)"
leaf audit-service p384 clientAuth int "$(sans audit-service)"
# Refused clients: each claims an ALLOWED name (order-service), so only the
# certificate's validity can be what refuses it.
LEAF_CN=order-service leaf order-service-other-ca p256 clientAuth other "$(sans order-service)"
LEAF_CN=order-service leaf order-service-expired p256 clientAuth int "$(sans order-service)" past
LEAF_CN=order-service leaf order-service-server-only p256 serverAuth int "$(sans order-service)"
LEAF_CN=order-service leaf order-service-self-signed p256 clientAuth self "$(sans order-service)"
# Bad servers: all but wrong-san carry user-service's exact names.
leaf payment-service-wrong-san p256 $BOTH int "$(sans payment-service)"
LEAF_CN=user-service leaf user-service-self-signed p256 $BOTH self "$(sans user-service)"
LEAF_CN=user-service leaf user-service-expired p256 $BOTH int "$(sans user-service)" past
LEAF_CN=user-service leaf user-service-client-only rsa3072 clientAuth int "$(sans user-service)"
LEAF_CN=user-service leaf user-service-other-ca p256 $BOTH other "$(sans user-service)"

DNS="user-service.$NS.svc.cluster.local"
uri() { echo "spiffe://$TD/ns/$NS/sa/$1"; }
cat > "$WORK/scenario.json" <<EOF
{
  "server": {
    "name": "user-service",
    "dir": "material/user-service",
    "dnsName": "$DNS",
    "allowedClients": ["user-service", "order-service", "inventory-service"]
  },
  "clients": [
    { "label": "user-service (self, P-256)", "dir": "material/user-service", "expect": "ok",
      "expectCN": "user-service", "expectURI": "$(uri user-service)" },
    { "label": "order-service (RSA 2048)", "dir": "material/order-service", "expect": "ok",
      "expectCN": "order-service", "expectURI": "$(uri order-service)" },
    { "label": "inventory-service (Ed25519)", "dir": "material/inventory-service", "expect": "ok",
      "expectCN": "inventory-service", "expectURI": "$(uri inventory-service)" },
    { "label": "audit-service (not allowed)", "dir": "material/audit-service", "expect": "forbidden",
      "expectCN": "audit-service" },
    { "label": "other CA", "dir": "material/order-service-other-ca", "expect": "refused" },
    { "label": "expired", "dir": "material/order-service-expired", "expect": "refused" },
    { "label": "server-only cert as client", "dir": "material/order-service-server-only", "expect": "refused" },
    { "label": "self-signed client", "dir": "material/order-service-self-signed", "expect": "refused" },
    { "label": "no client cert", "dir": null, "expect": "refused" }
  ],
  "badServers": [
    { "label": "wrong SAN", "dir": "material/payment-service-wrong-san", "expect": "refused" },
    { "label": "self-signed server", "dir": "material/user-service-self-signed", "expect": "refused" },
    { "label": "expired server", "dir": "material/user-service-expired", "expect": "refused" },
    { "label": "client-only cert as server", "dir": "material/user-service-client-only", "expect": "refused" },
    { "label": "server from other CA", "dir": "material/user-service-other-ca", "expect": "refused" }
  ],
  "plainTcp": true
}
EOF

echo "selftest: material in $WORK ($(ls "$M" | wc -l) certificate dirs), running harness"
fail=0
set +e
node "$HERE/run.mjs" --scenario "$WORK/scenario.json" --json "$WORK/result.json" "${EXTRA[@]}" | tee "$WORK/run.log"
rc=${PIPESTATUS[0]}
set -e

checks_ok=0
checks_failed=0
check() { # DESCRIPTION COMMAND...
    if "${@:2}"; then
        echo "selftest: ok   - $1"; checks_ok=$((checks_ok + 1))
    else
        echo "selftest: FAIL - $1"; checks_failed=$((checks_failed + 1)); fail=1
    fi
}
check "harness exit code 0 (got $rc)" test "$rc" = 0
check "summary line 'N passed, 0 failed'" grep -Eq '^[0-9]+ passed, 0 failed$' "$WORK/run.log"
check "result JSON agrees with expectations" node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const s = r.summary, errs = [];
if (s.failed !== 0) errs.push(`failed=${s.failed}`);
// Per TLS pass (r.tls): 5 client peers x 4 server peers x (9 clients + 1 built-in
// self-signed client) handshakes; 5 bad servers x 4 server peers x 5 client peers;
// liveness: 4 servers x (before, after) + 5 bad servers x 4 (curl -k control).
// Once: plain TCP 4 servers x 2; openssl verify of 1 server + 9 client certs
// (no-cert entry has none) + 5 bad servers.
const t = r.tls.length;
const want = { handshake: 5 * 4 * 10 * t, badServer: 5 * 4 * 5 * t, liveness: (4 * 2 + 5 * 4) * t, plainTcp: 4 * 2, verify: 1 + 9 + 5 };
for (const [k, n] of Object.entries(want)) {
  const got = r.cases.filter((c) => c.kind === k).length;
  if (got !== n) errs.push(`${k}: ${got} cases, want ${n}`);
}
for (const p of ["openssl", "curl", "python", "go", "node"]) {
  const c = r.perClientPeer[p];
  if (!c || c.tried === 0 || c.refusedAsExpected !== c.refusalsExpected) errs.push(`client peer ${p}: ${JSON.stringify(c)}`);
}
for (const p of ["openssl", "python", "go", "node"]) {
  const c = r.perServerPeer[p];
  if (!c || c.tried === 0 || c.refusedAsExpected !== c.refusalsExpected) errs.push(`server peer ${p}: ${JSON.stringify(c)}`);
}
if (errs.length) { console.error(errs.join("\n")); process.exit(1); }
' "$WORK/result.json"

# Negative control: wrong expectations must make the harness fail, exactly there.
node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
s.clients = [
  { ...s.clients[1], label: "WRONG: good client expected refused", expect: "refused" },
  { ...s.clients[3], label: "WRONG: forbidden client expected ok", expect: "ok" },
  { ...s.clients[1], label: "WRONG: expectCN mismatch", expectCN: "someone-else" },
  { ...s.clients[5], label: "WRONG: expired client expected ok", expect: "ok" },
];
s.badServers = [];
s.plainTcp = false;
s.builtins = false;
fs.writeFileSync(process.argv[2], JSON.stringify(s, null, 2));
' "$WORK/scenario.json" "$WORK/scenario-wrong.json"
set +e
node "$HERE/run.mjs" --scenario "$WORK/scenario-wrong.json" --json "$WORK/result-wrong.json" \
    --peers go,node,curl --tls 1.3 "${EXTRA[@]}" > "$WORK/run-wrong.log" 2>&1
rc2=$?
set -e
check "negative control exits non-zero (got $rc2)" test "$rc2" != 0
check "negative control: every WRONG case failed on every peer pair, nothing else did" node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const hs = r.cases.filter((c) => c.kind === "handshake");
const bad = hs.filter((c) => !c.pass);
const ok = bad.length === hs.length && hs.length === 4 * 3 * 2 * r.tls.length // 4 entries x 3 client peers x 2 server peers
  && r.cases.filter((c) => c.kind !== "handshake" && c.kind !== "verify").every((c) => c.pass);
if (!ok) { console.error(JSON.stringify(r.summary), bad.length, hs.length); process.exit(1); }
' "$WORK/result-wrong.json"
grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/run-wrong.log" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/selftest: negative control reported \2 deviations (\1 cases as expected)/'

echo "selftest: took $(( $(date +%s) - START ))s"
if [ "$fail" = 0 ]; then echo "selftest: PASS"; else echo "selftest: FAIL"; fi
echo "selftest: $checks_ok passed, $checks_failed failed"
exit "$fail"
