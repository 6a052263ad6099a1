#!/usr/bin/env bash
# Build the Pulumi engine from Go modules (no release downloads) and install it
# where the `pulumi` npm launcher and the Automation API look for it:
#
#   $PULUMI_HOME/versions/<cli>/bin/pulumi                      CLI
#   $PULUMI_HOME/versions/<cli>/bin/pulumi-language-nodejs      language host
#   $PULUMI_HOME/versions/<cli>/bin/pulumi-resource-pulumi-nodejs  dynamic providers
#   $PULUMI_HOME/plugins/resource-<name>-v<ver>/pulumi-resource-<name>
#
# Usage: bash engine/build.sh [cli] [language-nodejs] [tls] [random] [kubernetes]
#        (no arguments = all, in that order; kubernetes is the largest, so last)
#
# Versions come from node_modules: CLI = @pulumi/pulumi's version, providers =
# the "pulumi.version" field of node_modules/@pulumi/<name>/package.json.
#
# Environment:
#   PULUMI_HOME            install root (default ~/.pulumi)
#   MTLS_ENGINE_WORK       work dirs and logs (default ~/.cache/mtls-engine)
#   GOPROXY, GOMODCACHE, GOCACHE, GONOSUMDB ...   honoured as set
#   MTLS_ENGINE_STANDIN_LANGHOST=0   fail instead of building the stand-in
#                                    language host when the real one is refused
#   MTLS_ENGINE_STANDIN_PROVIDERS=0  fail instead of building the stand-in
#                                    tls/random providers
#                                    (test/standins/providers) when the real
#                                    provider module is refused
#   MTLS_ENGINE_FORCE=1    rebuild even when the installed binary is current
#
# Exit status: 0 when every requested binary is present, 1 otherwise (the
# summary at the end names each failed binary and why).
set -uo pipefail

ENGINE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$ENGINE_DIR")"
# What the module proxy refuses is replaced by the project's own stand-ins, kept with the tests.
STANDINS="$ROOT/test/standins"
NM="$ROOT/node_modules"
PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
WORK="${MTLS_ENGINE_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/mtls-engine}"
LOGS="$WORK/logs"
REFUSED="$WORK/refused.txt"
mkdir -p "$LOGS"

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
case " ${GOFLAGS:-} " in
  *" -mod="*) ;;
  *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" ;;
esac
# Needed for tags/pseudo-versions; the checksum database stays on unless a
# module cannot be verified (see with_sumdb_fallback).
export GONOSUMDB="${GONOSUMDB:-}"

say()  { printf '[engine] %s\n' "$*"; }
warn() { printf '[engine] WARNING: %s\n' "$*" >&2; }

command -v go   >/dev/null || { say "go not found on PATH"; exit 1; }
command -v node >/dev/null || { say "node not found on PATH"; exit 1; }
[ -d "$NM/@pulumi/pulumi" ] || { say "$NM/@pulumi/pulumi missing: run npm ci in $ROOT first"; exit 1; }

# json FILE EXPR  -> prints EXPR evaluated on the parsed JSON (j)
json() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=eval(process.argv[2]);if(v!==undefined&&v!==null)process.stdout.write(String(v))' "$1" "$2"; }
# jsonin EXPR  -> same, reading JSON from stdin
jsonin() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let j;try{j=JSON.parse(s)}catch(e){return}const v=eval(process.argv[1]);if(v!==undefined&&v!==null)process.stdout.write(String(v))})' "$1"; }

CLI_VERSION="$(json "$NM/@pulumi/pulumi/package.json" 'j.version')"
[ -n "$CLI_VERSION" ] || { say "cannot read @pulumi/pulumi version"; exit 1; }
BIN="$PULUMI_HOME/versions/$CLI_VERSION/bin"

declare -a FAILED=() OK=()
fail() { FAILED+=("$1: $2"); say "FAILED $1: $2"; }
ok()   { OK+=("$1"); }

record_refusal() { # module@version message
  grep -qxF "$1" "$REFUSED" 2>/dev/null || echo "$1" >>"$REFUSED"
  say "  refused by the module proxy: $1" >&2
}

# mod_download MOD@VER -> prints the `go mod download -json` object; 0 if fetched.
# A 403/404/410 from the proxy is recorded in $REFUSED. A checksum-database miss
# for that exact module is retried once with the module added to GONOSUMDB.
mod_download() {
  local mv="$1" out err
  out="$(go mod download -json "$mv" 2>/dev/null)"
  err="$(printf '%s' "$out" | jsonin 'j.Error')"
  if [ -n "$err" ] && printf '%s' "$err" | grep -q 'sumdb\|checksum database\|verifying'; then
    local mod="${mv%@*}"
    warn "checksum database cannot verify $mv; retrying with GONOSUMDB+=$mod"
    export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$mod"
    out="$(go mod download -json "$mv" 2>/dev/null)"
    err="$(printf '%s' "$out" | jsonin 'j.Error')"
  fi
  printf '%s' "$out"
  if [ -n "$err" ]; then
    if printf '%s' "$err" | grep -q '403\|404\|410\|not available\|not found\|unknown revision\|invalid version'; then
      record_refusal "$mv"
    fi
    printf '%s\n' "$err" >>"$LOGS/download-errors.log"
    return 1
  fi
  return 0
}

# Runs "$@" (a go command in the current dir); if it fails because the checksum
# database cannot verify some module, adds those modules to GONOSUMDB and retries.
with_sumdb_fallback() {
  local log="$1"; shift
  local i
  for i in 1 2 3 4 5 6; do
    if "$@" >>"$log" 2>&1; then return 0; fi
    local mods
    mods="$(grep -oE 'verifying [^@: ]+@' "$log" | sed -E 's/verifying //; s/@$//' | sort -u)"
    [ -n "$mods" ] || return 1
    local m new=0
    for m in $mods; do
      case ",$GONOSUMDB," in *",$m,"*) ;; *) export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$m"; new=1
        warn "checksum database cannot verify $m; GONOSUMDB+=$m" ;; esac
    done
    [ "$new" = 1 ] || return 1
  done
  return 1
}

# pseudo_version MAJOR TIME(RFC3339) HASH -> vMAJOR.0.0-yyyymmddhhmmss-hash12
pseudo_version() {
  local ts
  ts="$(date -u -d "$2" +%Y%m%d%H%M%S)" || return 1
  printf 'v%s.0.0-%s-%s' "$1" "$ts" "${3:0:12}"
}

# Non-local replace lines of a go.mod, as "old[@v] => new@v" for go mod edit.
nonlocal_replaces() {
  go mod edit -json "$1" | jsonin '(j.Replace||[]).filter(r=>!/^(\.|\/)/.test(r.New.Path)).map(r=>`${r.Old.Path}${r.Old.Version?"@"+r.Old.Version:""}=${r.New.Path}@${r.New.Version}`).join("\n")'
}

inputs_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
stamp_file() { printf '%s.mtls-engine' "$1"; }
is_current() { # dest key
  [ "${MTLS_ENGINE_FORCE:-0}" = 1 ] && return 1
  [ -x "$1" ] && [ "$(cat "$(stamp_file "$1")" 2>/dev/null)" = "$2" ]
}
install_bin() { # src dest key
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$" && chmod 0755 "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2" && printf '%s' "$3" >"$(stamp_file "$2")" \
    && rm -f "$1"   # the work dir keeps go.mod/go.sum only, not a second copy
}
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

GO_BUILD_FLAGS=(-trimpath)
# Bump when the build recipe changes in a way that must rebuild installed binaries.
RECIPE=1
cd "$WORK" || exit 1

# ---------------------------------------------------------------------------
build_cli() {
  local dest="$BIN/pulumi" key t0 wd log
  key="cli $CLI_VERSION r$RECIPE"
  if is_current "$dest" "$key" && [ "$("$dest" version 2>/dev/null)" = "v$CLI_VERSION" ]; then
    say "pulumi CLI v$CLI_VERSION present: $dest"; ok cli; return 0
  fi
  say "pulumi CLI v$CLI_VERSION: building (log: $LOGS/cli.log)"
  t0=$(date +%s); wd="$WORK/cli-$CLI_VERSION"; log="$LOGS/cli.log"; : >"$log"
  mkdir -p "$wd"
  local info pkgdir
  if ! info="$(mod_download "github.com/pulumi/pulumi/pkg/v3@v$CLI_VERSION")"; then
    fail cli "github.com/pulumi/pulumi/pkg/v3@v$CLI_VERSION not served by the module proxy"; return 1
  fi
  pkgdir="$(printf '%s' "$info" | jsonin 'j.Dir')"
  cat >"$wd/go.mod" <<EOF
module mtls-engine/pulumi-cli

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$CLI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$CLI_VERSION
)

tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
EOF
  local r
  while IFS= read -r r; do [ -n "$r" ] && go mod edit -replace="$r" "$wd/go.mod"; done < <(nonlocal_replaces "$pkgdir/go.mod")
  ( cd "$wd" && with_sumdb_fallback "$log" go mod tidy ) || { fail cli "go mod tidy failed (see $log)"; return 1; }
  ( cd "$wd" && with_sumdb_fallback "$log" go build "${GO_BUILD_FLAGS[@]}" -tags osusergo,grpcnotrace \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
      -o "$wd/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ) \
    || { fail cli "go build failed (see $log)"; return 1; }
  install_bin "$wd/bin/pulumi" "$dest" "$key" || { fail cli "install to $dest failed"; return 1; }
  say "pulumi CLI v$CLI_VERSION built in $(elapsed "$t0"): $dest"; ok cli
}

# ---------------------------------------------------------------------------
LANG_MOD="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"

build_langhost() {
  local dest="$BIN/pulumi-language-nodejs" t0 log="$LOGS/language-nodejs.log" wd
  local standin_key real_key
  real_key="language-nodejs real $CLI_VERSION r$RECIPE"
  standin_key="language-nodejs stand-in $CLI_VERSION r$RECIPE $(inputs_hash "$STANDINS/langhost-nodejs/main.go")"
  if is_current "$dest" "$real_key"; then
    say "pulumi-language-nodejs v$CLI_VERSION present: $dest"; ok language-nodejs; return 0
  fi
  if is_current "$dest" "$standin_key"; then
    say "pulumi-language-nodejs v$CLI_VERSION present (stand-in from test/standins/langhost-nodejs; real module refused): $dest"
    ok language-nodejs; return 0
  fi
  t0=$(date +%s); : >"$log"
  say "pulumi-language-nodejs v$CLI_VERSION: resolving the release commit (log: $log)"
  local info hash ctime pseudo linfo
  if info="$(mod_download "github.com/pulumi/pulumi/pkg/v3@v$CLI_VERSION")"; then
    hash="$(printf '%s' "$info" | jsonin 'j.Origin&&j.Origin.Hash')"
    ctime="$(node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));process.stdout.write(j.Time||"")' "$(printf '%s' "$info" | jsonin 'j.Info')")"
  fi
  if [ -n "${hash:-}" ] && [ -n "${ctime:-}" ] && pseudo="$(pseudo_version 3 "$ctime" "$hash")" \
     && linfo="$(mod_download "$LANG_MOD@$pseudo")"; then
    wd="$WORK/language-nodejs-$CLI_VERSION"; mkdir -p "$wd"
    cat >"$wd/go.mod" <<EOF
module mtls-engine/pulumi-language-nodejs-real

go 1.25

require $LANG_MOD $pseudo

replace (
	github.com/pulumi/pulumi/pkg/v3 => github.com/pulumi/pulumi/pkg/v3 v$CLI_VERSION
	github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 v$CLI_VERSION
)

tool $LANG_MOD
EOF
    local r
    while IFS= read -r r; do [ -n "$r" ] && go mod edit -replace="$r" "$wd/go.mod"; done \
      < <(nonlocal_replaces "$(printf '%s' "$linfo" | jsonin 'j.Dir')/go.mod")
    if ( cd "$wd" && with_sumdb_fallback "$log" go mod tidy && with_sumdb_fallback "$log" go build \
          "${GO_BUILD_FLAGS[@]}" -tags osusergo,grpcnotrace \
          -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
          -o "$wd/bin/pulumi-language-nodejs" "$LANG_MOD" ); then
      install_bin "$wd/bin/pulumi-language-nodejs" "$dest" "$real_key" || { fail language-nodejs "install failed"; return 1; }
      say "pulumi-language-nodejs v$CLI_VERSION (real, $pseudo) built in $(elapsed "$t0"): $dest"; ok language-nodejs; return 0
    fi
    warn "real language host build failed (see $log)"
  else
    warn "real language host module $LANG_MOD is not available from the module proxy"
  fi
  if [ "${MTLS_ENGINE_STANDIN_LANGHOST:-1}" = 0 ]; then
    fail language-nodejs "real module refused and MTLS_ENGINE_STANDIN_LANGHOST=0"; return 1
  fi
  say "pulumi-language-nodejs: building the stand-in from test/standins/langhost-nodejs against sdk/v3 v$CLI_VERSION"
  wd="$WORK/language-nodejs-standin-$CLI_VERSION"; mkdir -p "$wd"
  cp "$STANDINS/langhost-nodejs/main.go" "$wd/main.go"
  cat >"$wd/go.mod" <<EOF
module mtls-engine/pulumi-language-nodejs

go 1.25

require github.com/pulumi/pulumi/sdk/v3 v$CLI_VERSION
EOF
  ( cd "$wd" && with_sumdb_fallback "$log" go mod tidy && with_sumdb_fallback "$log" go build "${GO_BUILD_FLAGS[@]}" \
      -ldflags "-X main.Version=$CLI_VERSION" -o "$wd/bin/pulumi-language-nodejs" . ) \
    || { fail language-nodejs "stand-in build failed (see $log)"; return 1; }
  install_bin "$wd/bin/pulumi-language-nodejs" "$dest" "$standin_key" || { fail language-nodejs "install failed"; return 1; }
  say "pulumi-language-nodejs v$CLI_VERSION (STAND-IN, real module refused) built in $(elapsed "$t0"): $dest"
  ok language-nodejs
}

# pulumi-resource-pulumi-nodejs (dynamic providers) is a script shipped in @pulumi/pulumi.
install_dynamic_provider() {
  local src="$NM/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" dest="$BIN/pulumi-resource-pulumi-nodejs"
  [ -f "$src" ] || { fail pulumi-nodejs "$src missing"; return 1; }
  if [ -x "$dest" ] && cmp -s "$src" "$dest"; then
    say "pulumi-resource-pulumi-nodejs present: $dest"; return 0
  fi
  mkdir -p "$BIN" && cp "$src" "$dest" && chmod 0755 "$dest" && say "pulumi-resource-pulumi-nodejs installed: $dest"
}

# ---------------------------------------------------------------------------
# Providers. Module layout (pulumi/pulumi-<name>): provider/ is module
# github.com/pulumi/pulumi-<name>/provider/v<major> (no tags of its own; taken at
# the release commit of sdk/v<major>, as a pseudo-version), with a shim module
# in provider/shim that the proxy's zip leaves out.
build_provider() {
  local name="$1" major="$2"
  local pj="$NM/@pulumi/$name/package.json"
  [ -f "$pj" ] || { fail "$name" "$pj missing"; return 1; }
  local version; version="$(json "$pj" '(j.pulumi&&j.pulumi.version)||j.version')"
  local dir="$PULUMI_HOME/plugins/resource-$name-v$version" exe="pulumi-resource-$name"
  local dest="$dir/$exe" log="$LOGS/$name.log" t0 key
  key="$name $version r$RECIPE"
  if is_current "$dest" "$key"; then say "pulumi-resource-$name v$version present: $dest"; ok "$name"; return 0; fi
  if [ "${MTLS_ENGINE_STANDIN_PROVIDERS:-1}" != 0 ] && is_current "$dest" "$(standin_key "$name" "$version")"; then
    say "pulumi-resource-$name v$version present (STAND-IN from test/standins/providers; real module refused): $dest"
    ok "$name"; return 0
  fi
  t0=$(date +%s); : >"$log"
  say "pulumi-resource-$name v$version: resolving the release commit (log: $log)"
  local base="github.com/pulumi/pulumi-$name" pmod info hash ctime pver="" pinfo=""
  pmod="$base/provider/v$major"
  if info="$(mod_download "$base/sdk/v$major@v$version")"; then
    hash="$(printf '%s' "$info" | jsonin 'j.Origin&&j.Origin.Hash')"
    ctime="$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(j.Time||"")' "$(printf '%s' "$info" | jsonin 'j.Info')")"
    if [ -n "$hash" ] && [ -n "$ctime" ]; then
      say "  sdk/v$major v$version is commit $hash ($ctime)"
      local cand; cand="$(pseudo_version "$major" "$ctime" "$hash")"
      if pinfo="$(mod_download "$pmod@$cand")"; then pver="$cand"; fi
    fi
  fi
  if [ -z "$pver" ] && pinfo="$(mod_download "$pmod@v$version")"; then pver="v$version"; fi
  if [ -z "$pver" ]; then
    if [ "${MTLS_ENGINE_STANDIN_PROVIDERS:-1}" = 0 ]; then
      fail "$name" "provider module $pmod for v$version is not served by the module proxy (refusals in $REFUSED) and MTLS_ENGINE_STANDIN_PROVIDERS=0"
      [ -e "$dir/STAND-IN" ] && warn "a stand-in built earlier is still installed in $dir (remove that folder to drop it)"
      return 1
    fi
    warn "real provider module $pmod for v$version is not served by the module proxy; building the stand-in"
    build_standin_provider "$name" "$version" "$dir" "$pmod" "$log" "$t0"
    return
  fi
  # NOTE: the steps below could not be exercised on the machine this was
  # written on (the proxy refused every provider module); they follow the
  # module layout read from the providers' sources.
  local src wd
  src="$(printf '%s' "$pinfo" | jsonin 'j.Dir')"
  wd="$WORK/$name-$version"; rm -rf "$wd"; mkdir -p "$wd"; cp -r "$src" "$wd/provider"; chmod -R u+w "$wd/provider"
  local cmdd="$wd/provider/cmd/pulumi-resource-$name"
  [ -f "$cmdd/schema.json" ] && [ ! -f "$cmdd/schema-embed.json" ] && cp "$cmdd/schema.json" "$cmdd/schema-embed.json"
  # Local replaces whose folder is missing from the zip: the shim is recreated;
  # others (e.g. ../sdk) are dropped so the required published version is used.
  local old new
  while IFS='=' read -r old new; do
    [ -n "$old" ] || continue
    if [ ! -d "$wd/provider/$new" ]; then
      case "$old" in
        */shim)
          local upstream fn
          upstream="${old%/shim}"
          fn="$(grep -rhoE 'shim\.[A-Z][A-Za-z0-9_]*\(' "$wd/provider"/*.go 2>/dev/null | head -1 | sed -E 's/shim\.//; s/\($//')"
          mkdir -p "$wd/provider/$new"
          cat >"$wd/provider/$new/go.mod" <<EOF
module $old

go 1.25
EOF
          cat >"$wd/provider/$new/shim.go" <<EOF
// Recreated by engine/build.sh: the upstream provider's internal package can
// only be imported from below its own module path.
package shim

import (
	pfprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "$upstream/internal/provider"
)

func ${fn:-NewProvider}() pfprovider.Provider { return upstream.New() }
EOF
          ;;
        *) go mod edit -dropreplace="$old" "$wd/provider/go.mod" ;;
      esac
    fi
  done < <(go mod edit -json "$wd/provider/go.mod" | jsonin '(j.Replace||[]).filter(r=>/^(\.|\/)/.test(r.New.Path)).map(r=>r.Old.Path+"="+r.New.Path).join("\n")')
  ( cd "$wd/provider" && with_sumdb_fallback "$log" go mod tidy && with_sumdb_fallback "$log" go build "${GO_BUILD_FLAGS[@]}" \
      -ldflags "-X $pmod/pkg/version.Version=$version" -o "$wd/bin/$exe" "./cmd/pulumi-resource-$name" ) \
    || { fail "$name" "go build failed (see $log)"; return 1; }
  install_bin "$wd/bin/$exe" "$dest" "$key" || { fail "$name" "install failed"; return 1; }
  rm -f "$dir/STAND-IN"   # the real provider replaces any stand-in
  say "pulumi-resource-$name v$version built in $(elapsed "$t0"): $dest"; ok "$name"
}

# ---------------------------------------------------------------------------
# The real kubernetes provider. Its provider/ module is served only at release
# commits (as a pseudo-version), and its cmd/ main embeds files the module zip
# does not carry (schema-embed.json), so we link a main of our own that calls
# the provider's Serve with the module's committed schema.json (its version set
# to the npm package's) and terraform-mapping.json.
# MTLS_K8S_PROVIDER_MODULE=<pseudo-version> picks another commit.
declare -A K8S_PROVIDER_COMMIT=([4.25.0]="v4.0.0-20260115033456-f47bc2d6f199")
build_kubernetes() {
  local pj="$NM/@pulumi/kubernetes/package.json"
  [ -f "$pj" ] || { fail kubernetes "$pj missing"; return 1; }
  local version; version="$(json "$pj" '(j.pulumi&&j.pulumi.version)||j.version')"
  local dir="$PULUMI_HOME/plugins/resource-kubernetes-v$version" exe="pulumi-resource-kubernetes"
  local dest="$dir/$exe" log="$LOGS/kubernetes.log" key="kubernetes real $version r$RECIPE" t0
  if is_current "$dest" "$key"; then say "pulumi-resource-kubernetes v$version (real) present: $dest"; ok kubernetes; return 0; fi
  t0=$(date +%s); : >"$log"
  local pmod="github.com/pulumi/pulumi-kubernetes/provider/v4"
  local pver="${MTLS_K8S_PROVIDER_MODULE:-${K8S_PROVIDER_COMMIT[$version]:-}}"
  [ -n "$pver" ] || { fail kubernetes "no provider commit known for @pulumi/kubernetes $version; set MTLS_K8S_PROVIDER_MODULE to the pseudo-version of its release commit"; return 1; }
  local pinfo src
  pinfo="$(mod_download "$pmod@$pver")" \
    || { fail kubernetes "$pmod@$pver is not served by the module proxy (refusals in $REFUSED)"; return 1; }
  src="$(printf '%s' "$pinfo" | jsonin 'j.Dir')"
  say "pulumi-resource-kubernetes v$version: building Pulumi's provider from $pmod@$pver (log: $log; about 20 min and 4.6 GB of memory on a cold build cache)"
  local wd="$WORK/kubernetes-$version"; mkdir -p "$wd"
  node -e 'const fs=require("fs");const s=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));s.version=process.argv[3];fs.writeFileSync(process.argv[2],JSON.stringify(s))' \
    "$src/cmd/pulumi-resource-kubernetes/schema.json" "$wd/schema.json" "$version" || { fail kubernetes "cannot read the provider's schema.json"; return 1; }
  cp "$src/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$wd/terraform-mapping.json"
  cp "$ENGINE_DIR/kubernetes-provider/main.go" "$wd/main.go"
  printf 'module mtls-engine/pulumi-resource-kubernetes\n\ngo 1.25\n\nrequire %s %s\n' "$pmod" "$pver" >"$wd/go.mod"
  local r
  while IFS= read -r r; do [ -n "$r" ] && go mod edit -replace="$r" "$wd/go.mod"; done < <(nonlocal_replaces "$src/go.mod")
  ( cd "$wd" && with_sumdb_fallback "$log" go mod tidy && with_sumdb_fallback "$log" go build "${GO_BUILD_FLAGS[@]}" \
      -ldflags "-X $pmod/pkg/version.Version=$version" -o "$wd/bin/$exe" . ) \
    || { fail kubernetes "go build failed (see $log)"; return 1; }
  install_bin "$wd/bin/$exe" "$dest" "$key" || { fail kubernetes "install failed"; return 1; }
  rm -f "$dir/STAND-IN"
  say "pulumi-resource-kubernetes v$version (Pulumi's own, $pver) built in $(elapsed "$t0"): $dest"; ok kubernetes
}

# ---------------------------------------------------------------------------
# Stand-in providers (test/standins/providers): one Go module, linked once per
# provider with -X main.pluginName/-X main.pluginVersion, built only when the
# real provider module is refused. Each install gets a STAND-IN marker file.
STANDIN_DIR="$STANDINS/providers"
STANDIN_PREPARED=0

standin_key() { # name version
  printf '%s %s stand-in r%s %s' "$1" "$2" "$RECIPE" \
    "$(inputs_hash "$STANDIN_DIR/go.mod" "$STANDIN_DIR/go.sum" "$STANDIN_DIR"/*.go)"
}

build_standin_provider() { # name version plugin-dir refused-module log t0
  local name="$1" version="$2" dir="$3" pmod="$4" log="$5" t0="$6"
  local exe="pulumi-resource-$name" wd="$WORK/standin-providers" key
  key="$(standin_key "$name" "$version")"
  if [ "$STANDIN_PREPARED" != 1 ]; then
    rm -rf "$wd/src" && mkdir -p "$wd/src" "$wd/bin" \
      && cp "$STANDIN_DIR/go.mod" "$STANDIN_DIR/go.sum" "$STANDIN_DIR"/*.go "$wd/src/" \
      || { fail "$name" "cannot copy $STANDIN_DIR to $wd/src"; return 1; }
    STANDIN_PREPARED=1
  fi
  say "pulumi-resource-$name v$version: building the STAND-IN from test/standins/providers (log: $log)"
  ( cd "$wd/src" && with_sumdb_fallback "$log" go build "${GO_BUILD_FLAGS[@]}" \
      -ldflags "-X main.pluginName=$name -X main.pluginVersion=$version" -o "$wd/bin/$exe" . ) \
    || { fail "$name" "stand-in build failed (see $log)"; return 1; }
  install_bin "$wd/bin/$exe" "$dir/$exe" "$key" || { fail "$name" "install failed"; return 1; }
  cat >"$dir/STAND-IN" <<MARKER
STAND-IN: this is NOT Pulumi's $name provider.

$exe $version in this folder was built by engine/build.sh from the project's
own sources in test/standins/providers, because the Go module proxy refused
the real provider module ($pmod; every refusal is listed in
$REFUSED).

It answers the Pulumi engine for the resource types the project uses and
mirrors the real provider's documented behaviour for them; test/standins/README.md
lists what it covers and its known gaps.

Source hash: ${key##* }   built: $(date -u +%Y-%m-%dT%H:%M:%SZ)
Rebuild: bash engine/build.sh $name  (MTLS_ENGINE_FORCE=1 also retries the real module;
MTLS_ENGINE_STANDIN_PROVIDERS=0 refuses the stand-in)
MARKER
  say "pulumi-resource-$name v$version (STAND-IN, real module refused) built in $(elapsed "$t0"): $dir/$exe"
  ok "$name"
}

# ---------------------------------------------------------------------------
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(cli language-nodejs tls random kubernetes)
T0=$(date +%s)
say "PULUMI_HOME=$PULUMI_HOME  CLI v$CLI_VERSION  work=$WORK  GOPROXY=$(go env GOPROXY)"
for t in "${TARGETS[@]}"; do
  case "$t" in
    cli) build_cli ;;
    language-nodejs|langhost) build_langhost; install_dynamic_provider ;;
    tls) build_provider tls 5 ;;
    random) build_provider random 4 ;;
    kubernetes) build_kubernetes ;;
    *) fail "$t" "unknown target" ;;
  esac
done
say "done in $(elapsed "$T0"): ok=[${OK[*]:-}]"
if [ -s "$REFUSED" ]; then say "module versions refused by the proxy (all runs): $(tr '\n' ' ' <"$REFUSED")"; fi
[ -n "${GONOSUMDB:-}" ] && say "GONOSUMDB used: $GONOSUMDB"
if [ ${#FAILED[@]} -gt 0 ]; then
  for f in "${FAILED[@]}"; do say "FAILED $f"; done
  exit 1
fi
exit 0
