#!/usr/bin/env bash
# The operator end to end on this machine, no cluster and no Docker:
#   1. start a local kube-apiserver + etcd with the CRDs (hack/localcluster),
#   2. run the real manager binary (bin/manager) against it as its own process,
#   3. apply config/samples/ with the repo's kubectl and wait for the result,
#   4. print what a tenant admin would look at.
#
# Usage: hack/demo.sh          run the demo, stop everything at the end
#        KEEP=1 hack/demo.sh   leave the control plane and manager running
#        hack/demo.sh stop     stop a demo left running with KEEP=1
# `make demo` / `make demo KEEP=1` / `make demo-stop` build the prerequisites
# (bin/k8s via `make envtest`, bin/manager via `make build`) and call this.
#
# Only the repo's own binaries are used (bin/k8s/<version>/kubectl, never one
# found on PATH). Re-runnable: a demo still running from an earlier KEEP=1 run
# is stopped first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

# The version is written once, in the Makefile.
ENVTEST_K8S_VERSION="${ENVTEST_K8S_VERSION:-$(sed -n 's/^ENVTEST_K8S_VERSION ?= *//p' Makefile)}"
ASSETS="${KUBEBUILDER_ASSETS:-${ROOT}/bin/k8s/${ENVTEST_K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)}"
KUBECTL_BIN="${ASSETS}/kubectl"
MANAGER="${MANAGER:-${ROOT}/bin/manager}"
LOCALCLUSTER="${ROOT}/bin/localcluster"
DEMO_DIR="${DEMO_DIR:-${ROOT}/bin/demo}"
KUBECONFIG_FILE="${DEMO_DIR}/kubeconfig"
WAIT_TIMEOUT="${WAIT_TIMEOUT:-60s}"
KEEP="${KEEP:-}"
[[ "${KEEP}" == "0" || "${KEEP}" == "false" ]] && KEEP=""
NS=contoso

# Objects of config/samples/ that converge to Ready=True, and those that are
# meant not to: they show what the operator reports when something is wrong.
READY=(licensesku/m365-e3 licensesku/exchange-p2 licensesku/power-bi-pro
  licensegroup/executives
  userlicense/ann userlicense/ben userlicense/carla userlicense/dave userlicense/erin)
NOT_READY=(licensesku/exchange-p1 licensegroup/contractors licensegroup/all-employees
  userlicense/frank userlicense/gina)

START=${SECONDS}
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
kubectl() { "${KUBECTL_BIN}" --kubeconfig "${KUBECONFIG_FILE}" "$@"; }

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1
  kill -0 "${pid}" 2>/dev/null || return 1
  if [[ -r "/proc/${pid}/stat" ]]; then
    local stat
    stat="$(<"/proc/${pid}/stat")" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != "Z" ]]
  fi
}

# ours PIDFILE BINARY: the pid in PIDFILE is alive and runs BINARY (a pid can
# be reused after a reboot or a crash; never signal somebody else's process).
ours() {
  local pidfile=$1 binary=$2 pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(<"${pidfile}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] && alive "${pid}" || return 1
  if [[ -r "/proc/${pid}/cmdline" ]]; then
    tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "${binary}" || return 1
  fi
  echo "${pid}"
}

# stop NAME PIDFILE BINARY: SIGTERM, wait up to 30s, then SIGKILL.
stop() {
  local name=$1 pidfile=$2 binary=$3 pid i
  if pid="$(ours "${pidfile}" "${binary}")"; then
    info "stopping ${name} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      alive "${pid}" || break
      sleep 0.1
    done
    if alive "${pid}"; then
      info "${name} did not stop within 30s: killing it"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
    wait "${pid}" 2>/dev/null || true
  fi
  rm -f "${pidfile}"
}

stop_all() {
  # The manager first, so it does not log errors about a vanished API server.
  stop manager "${DEMO_DIR}/manager.pid" "${MANAGER}"
  stop "local control plane" "${DEMO_DIR}/localcluster.pid" "${LOCALCLUSTER}"
}

if [[ "${1:-}" == "stop" ]]; then
  step "Stopping the demo"
  stop_all
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: hack/demo.sh [stop]"

KEPT=""
cleanup() {
  local rc=$?
  # Finish the cleanup whatever happens to our terminal or pipe (`make demo |
  # head` closes stdout early; that must not leave processes behind).
  trap - EXIT
  trap '' INT TERM HUP PIPE
  set +e
  if ((rc == 129 || rc == 130 || rc == 143)); then
    printf '\ndemo: interrupted\n' >&2
  elif ((rc != 0)); then
    for log in manager localcluster; do
      if [[ -s "${DEMO_DIR}/${log}.log" ]]; then
        printf '\n--- last lines of %s ---\n' "${DEMO_DIR}/${log}.log" >&2
        tail -n 20 "${DEMO_DIR}/${log}.log" >&2
      fi
    done
  fi
  if [[ -z "${KEPT}" ]]; then
    step "Cleaning up"
    stop_all
  fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

[[ -x "${KUBECTL_BIN}" ]] || die "${KUBECTL_BIN} missing: run 'make envtest' (or 'make demo', which builds it)"
[[ -x "${MANAGER}" ]] || die "${MANAGER} missing: run 'make build' (or 'make demo', which builds it)"
mkdir -p "${DEMO_DIR}"

if ours "${DEMO_DIR}/localcluster.pid" "${LOCALCLUSTER}" >/dev/null ||
  ours "${DEMO_DIR}/manager.pid" "${MANAGER}" >/dev/null; then
  step "Stopping the demo left running by an earlier 'make demo KEEP=1'"
  stop_all
fi

step "Starting a local control plane (kube-apiserver + etcd ${ENVTEST_K8S_VERSION}, CRDs from config/crd/bases)"
go build -o "${LOCALCLUSTER}" ./hack/localcluster
# Truncate the logs here, not in the background job's redirection: that one
# runs asynchronously, and the wait below must never see an earlier run's log.
rm -f "${KUBECONFIG_FILE}"
: >"${DEMO_DIR}/localcluster.log"
: >"${DEMO_DIR}/manager.log"
"${LOCALCLUSTER}" --kubeconfig "${KUBECONFIG_FILE}" --assets-dir "${ASSETS}" \
  --crd-dir "${ROOT}/config/crd/bases" >>"${DEMO_DIR}/localcluster.log" 2>&1 &
echo $! >"${DEMO_DIR}/localcluster.pid"
for ((i = 0; ; i++)); do
  [[ -s "${KUBECONFIG_FILE}" ]] && grep -q '^ready:' "${DEMO_DIR}/localcluster.log" && break
  alive "$(<"${DEMO_DIR}/localcluster.pid")" || die "the local control plane exited during startup"
  ((i < 900)) || die "the local control plane did not get ready within 90s"
  sleep 0.1
done
info "$(grep '^ready:' "${DEMO_DIR}/localcluster.log" | sed 's/^ready: //')"

step "Starting the manager (${MANAGER#"${ROOT}"/}) against it"
"${MANAGER}" --kubeconfig "${KUBECONFIG_FILE}" --metrics-bind-address=0 \
  --health-probe-bind-address=0 >>"${DEMO_DIR}/manager.log" 2>&1 &
echo $! >"${DEMO_DIR}/manager.pid"
info "pid $(<"${DEMO_DIR}/manager.pid"), log ${DEMO_DIR#"${ROOT}"/}/manager.log"

step "kubectl apply -f config/samples/"
kubectl apply -f config/samples/ | sed 's/^/    /'

step "Waiting for the objects that should become Ready (kubectl wait --for=condition=Ready)"
if ! kubectl wait -n "${NS}" --for=condition=Ready --timeout="${WAIT_TIMEOUT}" "${READY[@]}" | sed 's/^/    /'; then
  alive "$(<"${DEMO_DIR}/manager.pid")" || die "the manager exited"
  die "not Ready within ${WAIT_TIMEOUT}"
fi

step "Waiting for the objects that must NOT become Ready (kubectl wait --for=condition=Ready=false)"
info "exchange-p1 has 2 seats for 3 contractors: gina waits, so the SKU and the contractors group are not Ready;"
info "frank has no usageLocation, so his E3 from all-employees fails and that group is not Ready either."
if ! kubectl wait -n "${NS}" --for=condition=Ready=false --timeout="${WAIT_TIMEOUT}" "${NOT_READY[@]}" | sed 's/^/    /'; then
  die "not reported as Ready=False within ${WAIT_TIMEOUT}"
fi
alive "$(<"${DEMO_DIR}/manager.pid")" || die "the manager exited"

step "kubectl get licensing -A"
kubectl get licensing -A

step "Seats per SKU"
kubectl get licensesku -n "${NS}" -o custom-columns='SKU:.metadata.name,PART:.spec.skuPartNumber,SEATS:.status.seats,ASSIGNED:.status.assigned,AVAILABLE:.status.available,WAITING:.status.waiting,REQUESTED:.status.requested,READY:.status.conditions[?(@.type=="Ready")].status,REASON:.status.conditions[?(@.type=="Ready")].reason'

step "Users in error, and why"
failing=()
while read -r name; do
  failing+=("${name}")
done < <(kubectl get userlicense -n "${NS}" \
  -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
  awk '$2 != "True" {print $1}')
if ((${#failing[@]} == 0)); then
  info "none"
else
  kubectl get userlicense -n "${NS}" "${failing[@]}" -o jsonpath='{range .items[*]}{.spec.userPrincipalName}{range .status.licenses[?(@.state=="Error")]}{"\n    "}{.sku}{"  "}{.reason}{": "}{.message}{end}{"\n"}{end}'
fi

step "Warnings (Ready is unaffected)"
kubectl get userlicense -n "${NS}" -o jsonpath='{range .items[*]}{.spec.userPrincipalName}{" "}{.status.conditions[?(@.type=="DuplicatePlans")].status}{" "}{.status.conditions[?(@.type=="DuplicatePlans")].message}{"\n"}{end}' |
  awk '$2 == "True" {upn = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); print upn ": DuplicatePlans: " $0}'

step "Done in $((SECONDS - START))s"
if [[ -n "${KEEP}" ]]; then
  KEPT=1
  info "The control plane and the manager keep running (KEEP=1). Try:"
  info ""
  info "  export KUBECONFIG=${KUBECONFIG_FILE}"
  info "  alias kubectl=${KUBECTL_BIN}"
  info "  kubectl get licensing -n ${NS} -o wide"
  info "  kubectl patch licensesku exchange-p1 -n ${NS} --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/subscriptions/0/seats\",\"value\":3}]'"
  info "  kubectl get userlicense gina -n ${NS} -o yaml"
  info ""
  info "Manager log: ${DEMO_DIR}/manager.log"
  info "Stop it with: make demo-stop   (or: hack/demo.sh stop)"
fi
