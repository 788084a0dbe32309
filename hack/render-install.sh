#!/usr/bin/env bash
# Renders config/default (namespace, CRDs, RBAC, manager Deployment, metrics
# Service) to stdout with the repo's kubectl (no separate kustomize binary):
#
#   hack/render-install.sh --image registry.example.com/license-operator:v0.1.0
#   hack/render-install.sh --without-crds     # what `make undeploy` deletes
#
# --image sets the manager image through a throw-away kustomize overlay, so
# nothing under config/ is edited. It accepts name, name:tag and
# name@sha256:digest (registry ports are fine: host:5000/name:tag).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENVTEST_K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.2}"
KUBECTL="${KUBECTL:-${ROOT}/bin/k8s/${ENVTEST_K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)/kubectl}"
# The image name config/manager gives the manager container.
BASE_IMAGE="license-operator"

image=""
crds=1
while (($#)); do
  case "$1" in
  --image) image="${2:?--image needs a value}"; shift 2 ;;
  --image=*) image="${1#--image=}"; shift ;;
  --without-crds) crds=""; shift ;;
  *) echo "usage: $0 [--image IMG] [--without-crds]" >&2; exit 2 ;;
  esac
done
[[ -x "${KUBECTL}" ]] || { echo "${KUBECTL} missing: run 'make envtest'" >&2; exit 1; }

target="${ROOT}/config/default"
if [[ -n "${image}" ]]; then
  name="${image}" tag="" digest=""
  if [[ "${image}" == *@* ]]; then
    name="${image%%@*}" digest="${image#*@}"
  elif [[ "${image##*/}" == *:* ]]; then
    name="${image%:*}" tag="${image##*:}"
  else
    tag="latest"
  fi
  # kustomize accepts only relative paths to a base, so the overlay lives
  # inside the repo (bin/ is ignored by git) and is removed on exit.
  mkdir -p "${ROOT}/bin"
  target="$(mktemp -d "${ROOT}/bin/.install-overlay.XXXXXX")"
  trap 'rm -rf "${target}"' EXIT
  {
    echo "resources:"
    echo "- ../../config/default"
    echo "images:"
    echo "- name: ${BASE_IMAGE}"
    echo "  newName: ${name}"
    [[ -n "${tag}" ]] && echo "  newTag: \"${tag}\""
    [[ -n "${digest}" ]] && echo "  digest: ${digest}"
  } >"${target}/kustomization.yaml"
fi

out="$("${KUBECTL}" kustomize "${target}")"
if [[ -n "${image}" ]] && ! grep -qF "image: ${image}" <<<"${out}"; then
  echo "render-install: the manager image was not set to ${image}: does config/manager still name it ${BASE_IMAGE}?" >&2
  exit 1
fi
if [[ -n "${crds}" ]]; then
  printf '%s\n' "${out}"
else
  # Drop the documents whose top-level kind is CustomResourceDefinition.
  printf '%s\n' "${out}" | awk '
    function flush() {
      if (doc != "" && doc !~ /(^|\n)kind: CustomResourceDefinition\n/) printf "---\n%s", doc
      doc = ""
    }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }'
fi
