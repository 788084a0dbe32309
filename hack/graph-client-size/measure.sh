#!/usr/bin/env bash
# Cold build time and binary size of a tiny program that lists subscribed
# SKUs, users and groups and assigns a license, written once with the
# official SDK (github.com/microsoftgraph/msgraph-sdk-go) and once with
# internal/graph. Both build with an empty GOCACHE (modules downloaded
# first, so only compilation is timed). CPU-heavy: run it on an idle machine.
#
#   hack/graph-client-size/measure.sh [SDK_VERSION]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SDK_VERSION=${1:-v1.89.0}
AZID_VERSION=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/Azure/azure-sdk-for-go/sdk/azidentity)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/sdk"
cp "$ROOT/hack/graph-client-size/sdk_main.go.txt" "$WORK/sdk/main.go"
(cd "$WORK/sdk" && go mod init example.com/sdkbench 2>/dev/null &&
  go get "github.com/microsoftgraph/msgraph-sdk-go@$SDK_VERSION" "github.com/Azure/azure-sdk-for-go/sdk/azidentity@$AZID_VERSION" &&
  go mod tidy && go mod download)
(cd "$ROOT" && go mod download)

measure() { # name dir package
  local cache; cache=$(mktemp -d)
  if ! { TIMEFORMAT='%R %U %S'; time (cd "$2" && GOCACHE="$cache" CGO_ENABLED=0 \
      go build -trimpath -o "$WORK/$1.bin" "$3" >"$WORK/$1.log" 2>&1); } 2>"$WORK/$1.time"; then
    echo "$1: build failed:" >&2; cat "$WORK/$1.log" >&2; rm -rf "$cache"; exit 1
  fi
  rm -rf "$cache"
  local real user sys size
  read -r real user sys <"$WORK/$1.time"
  size=$(stat -c %s "$WORK/$1.bin")
  printf '%-6s cold build: %6.1f s wall, %6.1f s CPU (user+sys); binary %5.1f MiB (%d bytes)\n' \
    "$1" "$real" "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $size / 1048576" | bc)" "$size"
}
echo "go $(go env GOVERSION), $(nproc) CPUs, load average $(cut -d" " -f1-3 /proc/loadavg), msgraph-sdk-go $SDK_VERSION, azidentity $AZID_VERSION"
measure typed "$ROOT" ./hack/graph-client-size/typed
measure sdk "$WORK/sdk" .
