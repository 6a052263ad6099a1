#!/usr/bin/env bash
# Build a Kubernetes control plane for the test tiers from Go modules:
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes,
# and etcd from go.etcd.io/etcd/server/v3 at the version Kubernetes itself
# depends on. Nothing is downloaded but modules.
#
# Usage: bash test/cluster/build.sh
# Environment:
#   MTLS_K8S_VERSION   Kubernetes release (default 1.34.4)
#   MTLS_CLUSTER_HOME  binaries and work dirs (default ~/.cache/mtls-cluster)
#   MTLS_CLUSTER_FORCE=1  rebuild even when the binaries are current
# Binaries end up in $MTLS_CLUSTER_HOME/bin/v<version>/; a stamp beside each
# makes a warm run take a second.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S="${MTLS_K8S_VERSION:-1.34.4}"
HOME_DIR="${MTLS_CLUSTER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mtls-cluster}"
BIN="$HOME_DIR/bin/v$K8S"
WD="$HOME_DIR/work/k8s-$K8S"
LOG="$HOME_DIR/build-$K8S.log"
RECIPE="1 $(cat "$HERE/build.sh" "$HERE/etcd/main.go" | sha256sum | cut -c1-12)"
mkdir -p "$BIN" "$WD"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
say() { printf '[cluster-build] %s\n' "$*"; }

TOOLS=(kube-apiserver kube-controller-manager kubectl etcd)
current=1
for t in "${TOOLS[@]}"; do
  [ -x "$BIN/$t" ] && [ "$(cat "$BIN/$t.stamp" 2>/dev/null)" = "$K8S $RECIPE" ] || current=0
done
if [ "$current" = 1 ] && [ "${MTLS_CLUSTER_FORCE:-0}" != 1 ]; then
  say "Kubernetes v$K8S control plane present: $BIN"; exit 0
fi

t0=$(date +%s)
say "Kubernetes v$K8S: building kube-apiserver, kube-controller-manager, kubectl and etcd from Go modules (log: $LOG; about 10 min on 2 cores from a cold cache)"
: >"$LOG"
info="$(cd "$WD" && go mod download -json "k8s.io/kubernetes@v$K8S")" \
  || { say "k8s.io/kubernetes@v$K8S is not served by the module proxy: $info"; exit 1; }
kmod="$(printf '%s' "$info" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).GoMod))')"

# Kubernetes' own go.mod replaces each staging module with a folder in its tree;
# a wrapper module replaces them with the published k8s.io/<name> v0.MM.P.
minor="0.${K8S#1.}"
{
  printf 'module mtls-test/control-plane\n\ngo 1.25\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S"
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$kmod" | awk -v v="v$minor" '{print "\t" $1 " => " $1 " " v}'
  printf ')\n'
} >"$WD/go.mod"
cat >"$WD/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
EOF
mkdir -p "$WD/cmd/etcd" "$WD/cmd/kubectl"
cp "$HERE/etcd/main.go" "$WD/cmd/etcd/main.go"
cat >"$WD/cmd/kubectl/main.go" <<'EOF'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() { cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()) }
EOF
(cd "$WD" && go mod tidy >>"$LOG" 2>&1) || { tail -20 "$LOG"; say "go mod tidy failed (log: $LOG)"; exit 1; }

ver_flags="-X k8s.io/component-base/version.gitVersion=v$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S#1.} -X k8s.io/client-go/pkg/version.gitVersion=v$K8S"
build() { # name package
  local t1; t1=$(date +%s)
  (cd "$WD" && go build -trimpath -ldflags "$ver_flags" -o "$BIN/$1.tmp" "$2" >>"$LOG" 2>&1) \
    || { tail -20 "$LOG"; say "go build of $1 failed (log: $LOG)"; exit 1; }
  mv -f "$BIN/$1.tmp" "$BIN/$1"; printf '%s' "$K8S $RECIPE" >"$BIN/$1.stamp"
  say "  $1 built in $(( $(date +%s) - t1 ))s"
}
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kubectl ./cmd/kubectl
build etcd ./cmd/etcd
say "Kubernetes v$K8S control plane built in $(( $(date +%s) - t0 ))s: $BIN"
