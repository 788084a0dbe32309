#!/usr/bin/env bash
# Renders config/default (namespace, CRDs, RBAC, manager Deployment, metrics
# Service) to stdout with kustomize's Go library (hack/render-install): no
# kubectl or kustomize binary is needed, only Go.
#
#   hack/render-install.sh --image registry.example.com/license-operator:v0.1.0
#   hack/render-install.sh --without-crds     # what `make undeploy` deletes
#
# --image sets the manager image through an in-memory kustomize overlay, so
# nothing under config/ is edited. It accepts name, name:tag and
# name@sha256:digest (registry ports are fine: host:5000/name:tag).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./hack/render-install "$@"
