#!/usr/bin/env bash
# Build cert-manager's controllers and trust-manager from Go modules, and extract
# both projects' CustomResourceDefinitions from the same module sources.
#
# - cert-manager: github.com/cert-manager/cert-manager (the controllers live in its pkg/).
#   Its own main is the module github.com/cert-manager/cert-manager/cmd/controller, which
#   the module proxy does not serve, so test/certmanager/controller/main.go wires the
#   controllers a CA issuer needs (see that file).
# - trust-manager: github.com/cert-manager/trust-manager, main cmd/trust-manager.
# Nothing is downloaded but modules.
#
# Usage: bash test/certmanager/build.sh [--crds-only]
# Environment:
#   MTLS_CERT_MANAGER_VERSION   cert-manager release (default 1.21.2)
#   MTLS_TRUST_MANAGER_VERSION  trust-manager release (default 0.25.0)
#   MTLS_CERTMANAGER_HOME       binaries, CRDs and work dirs (default ~/.cache/mtls-certmanager)
#   MTLS_CERTMANAGER_FORCE=1    rebuild even when the binaries are current
# Output: $HOME/bin/cert-manager-controller-v<v>, trust-manager-v<v>, and
# $HOME/crds/cert-manager-v<v>/*.yaml, trust-manager-v<v>/*.yaml; a stamp beside each
# binary makes a warm run take a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CM="${MTLS_CERT_MANAGER_VERSION:-1.21.2}"
TM="${MTLS_TRUST_MANAGER_VERSION:-0.25.0}"
HOME_DIR="${MTLS_CERTMANAGER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mtls-certmanager}"
BIN="$HOME_DIR/bin"
LOG="$HOME_DIR/build.log"
RECIPE="1 $(cat "$HERE/build.sh" "$HERE/controller/main.go" | sha256sum | cut -c1-12)"
mkdir -p "$BIN" "$HOME_DIR/work" "$HOME_DIR/crds"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
say() { printf '[certmanager-build] %s\n' "$*"; }
: >>"$LOG"

# module@version -> its directory in the module cache (downloads it once).
moddir() {
  local info
  info="$(go mod download -json "$1" 2>&1)" || { say "$1 is not served by the module proxy: $info"; return 1; }
  printf '%s' "$info" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
    const j=JSON.parse(s); if(j.Error){console.error(j.Error);process.exit(1)} process.stdout.write(j.Dir)})'
}

# CRDs: cert-manager's deploy/crds and trust-manager's deploy/crds are plain YAML;
# the Helm chart copies carry template lines, which a check below refuses.
crds() { # name version dir files...
  local name="$1" ver="$2" dir="$3"; shift 3
  local out="$HOME_DIR/crds/$name-v$ver"
  mkdir -p "$out"
  for f in "$@"; do
    [ -f "$dir/deploy/crds/$f" ] || { say "$name v$ver has no deploy/crds/$f"; exit 1; }
    if grep -q '{{' "$dir/deploy/crds/$f"; then say "$name deploy/crds/$f holds Helm template lines"; exit 1; fi
    cp "$dir/deploy/crds/$f" "$out/$f"; chmod u+w "$out/$f"
  done
  say "CRDs of $name v$ver: $out"
}
cmdir="$(moddir "github.com/cert-manager/cert-manager@v$CM")"
tmdir="$(moddir "github.com/cert-manager/trust-manager@v$TM")"
crds cert-manager "$CM" "$cmdir" cert-manager.io_certificates.yaml cert-manager.io_certificaterequests.yaml \
  cert-manager.io_issuers.yaml cert-manager.io_clusterissuers.yaml
crds trust-manager "$TM" "$tmdir" trust.cert-manager.io_bundles.yaml
[ "${1:-}" = "--crds-only" ] && exit 0

build() { # binary module version main-package [main.go to copy]
  local bin="$BIN/$1-v$3" wd="$HOME_DIR/work/$1-$3" t1
  if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$RECIPE" ] && [ "${MTLS_CERTMANAGER_FORCE:-0}" != 1 ]; then
    say "$1 v$3 present: $bin"; return 0
  fi
  t1=$(date +%s)
  mkdir -p "$wd"
  printf 'module mtls-test/%s\n\ngo 1.26\n\nrequire %s v%s\n' "$1" "$2" "$3" >"$wd/go.mod"
  rm -f "$wd/go.sum"
  if [ -n "${5:-}" ]; then
    mkdir -p "$wd/cmd"; cp "$5" "$wd/cmd/main.go"; chmod u+w "$wd/cmd/main.go"
  else
    mkdir -p "$wd/cmd"; printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$4" >"$wd/cmd/tools.go"
  fi
  say "$1 v$3: go mod tidy + go build (log: $LOG)"
  (cd "$wd" && go mod tidy >>"$LOG" 2>&1) || { tail -20 "$LOG"; say "go mod tidy for $1 failed (log: $LOG)"; return 1; }
  local pkg="$4"; [ -n "${5:-}" ] && pkg=./cmd
  (cd "$wd" && go build -trimpath -o "$bin.tmp" "$pkg" >>"$LOG" 2>&1) \
    || { tail -20 "$LOG"; say "go build of $1 failed (log: $LOG)"; return 1; }
  mv -f "$bin.tmp" "$bin"; printf '%s' "$RECIPE" >"$bin.stamp"
  say "  $1 built in $(( $(date +%s) - t1 ))s: $bin"
}
t0=$(date +%s)
status=0
build cert-manager-controller github.com/cert-manager/cert-manager "$CM" "" "$HERE/controller/main.go" || status=1
build trust-manager github.com/cert-manager/trust-manager "$TM" github.com/cert-manager/trust-manager/cmd/trust-manager \
  || status=1
say "done in $(( $(date +%s) - t0 ))s (status $status)"
exit $status
