#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, etcd, kubectl) from the Go
# module proxy into the layout setup-envtest uses:
#   bin/k8s/<version>-<os>-<arch>/{kube-apiserver,etcd,kubectl}
# Prebuilt envtest downloads are not reachable from our build machines, so we
# compile the exact release ourselves. Skips the build when the binaries are
# already present (warm runs cost nothing).
#
# Usage: hack/build-envtest.sh [bin-dir]   (prints the asset directory last)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The version is written once, in the Makefile (which exports it to us).
K8S_VERSION="${ENVTEST_K8S_VERSION:-$(sed -n 's/^ENVTEST_K8S_VERSION ?= *//p' "${ROOT}/Makefile")}"
ETCD_VERSION="${ENVTEST_ETCD_VERSION:-v3.6.16}"
BIN_DIR="${1:-${ROOT}/bin}"
GOOS="$(go env GOOS)"
GOARCH="$(go env GOARCH)"
ASSETS="${BIN_DIR}/k8s/${K8S_VERSION}-${GOOS}-${GOARCH}"
STAGING_VERSION="v0.${K8S_VERSION#1.}"   # 1.37.2 -> v0.37.2

log() { printf '>> %s\n' "$*" >&2; }

have() {
  [ -x "${ASSETS}/kube-apiserver" ] && [ -x "${ASSETS}/etcd" ] && [ -x "${ASSETS}/kubectl" ]
}

if have; then
  log "envtest control plane present: ${ASSETS}"
  echo "${ASSETS}"
  exit 0
fi

mkdir -p "${ASSETS}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/envtest-build.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# Version stamps: without them `kubectl version` fails and the server reports v0.0.0.
MINOR="$(echo "${K8S_VERSION}" | cut -d. -f2)"
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${MINOR}"
  LDFLAGS+=" -X ${pkg}.gitTreeState=clean"
done

# --- kube-apiserver and kubectl ------------------------------------------------
if [ ! -x "${ASSETS}/kube-apiserver" ] || [ ! -x "${ASSETS}/kubectl" ]; then
  log "building kube-apiserver and kubectl v${K8S_VERSION} from the module proxy (takes several minutes on a cold cache)"
  mkdir -p "${WORK}/k8s"
  cd "${WORK}/k8s"
  cat > go.mod <<MOD
module envtest.local/k8s

go 1.26

require k8s.io/kubernetes v${K8S_VERSION}
MOD
  # k8s.io/kubernetes replaces every staging module with a local path; a
  # consumer must point each one at its published release instead. Take the
  # list from k8s.io/kubernetes's own go.mod so it can never drift.
  KGOMOD="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  [ -f "${KGOMOD}" ] || { log "could not download k8s.io/kubernetes@v${K8S_VERSION}"; exit 1; }
  grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "${KGOMOD}" | awk '{print $1}' | sort -u > staging.txt
  [ -s staging.txt ] || { log "no staging replaces found in ${KGOMOD}"; exit 1; }
  while read -r m; do
    echo "replace ${m} => ${m} ${STAGING_VERSION}" >> go.mod
  done < staging.txt
  log "$(wc -l < staging.txt) staging modules pinned to ${STAGING_VERSION}"
  go build -trimpath -ldflags "${LDFLAGS}" -o "${ASSETS}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "${ASSETS}/kube-apiserver.tmp" "${ASSETS}/kube-apiserver"
  log "built ${ASSETS}/kube-apiserver"
  go build -trimpath -ldflags "${LDFLAGS}" -o "${ASSETS}/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "${ASSETS}/kubectl.tmp" "${ASSETS}/kubectl"
  log "built ${ASSETS}/kubectl"
fi

# --- etcd ------------------------------------------------------------------------
if [ ! -x "${ASSETS}/etcd" ]; then
  log "building etcd ${ETCD_VERSION} from the module proxy"
  mkdir -p "${WORK}/etcd"
  cd "${WORK}/etcd"
  cat > go.mod <<MOD
module envtest.local/etcd

go 1.26

require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
MOD
  go build -trimpath -ldflags "-s -w" -o "${ASSETS}/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "${ASSETS}/etcd.tmp" "${ASSETS}/etcd"
  log "built ${ASSETS}/etcd"
fi

have || { log "control plane incomplete in ${ASSETS}"; exit 1; }
echo "${ASSETS}"
