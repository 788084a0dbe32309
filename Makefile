# license-operator Makefile (kubebuilder layout).
# The two commands a newcomer needs: `make demo` and `make test`.

IMG_DEFAULT := license-operator:latest
IMG ?= $(IMG_DEFAULT)
ENVTEST_K8S_VERSION ?= 1.37.2
CONTROLLER_TOOLS_VERSION ?= v0.23.0

LOCALBIN ?= $(CURDIR)/bin
GOOS := $(shell go env GOOS)
GOARCH := $(shell go env GOARCH)
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(ENVTEST_K8S_VERSION)-$(GOOS)-$(GOARCH)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)

# Tests and tools use only what this repo builds: never a kubectl or
# control plane that happens to be installed on the machine.
export KUBEBUILDER_ASSETS := $(ENVTEST_ASSETS)
export GOTOOLCHAIN := local

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: verify
verify: manifests generate ## Fail if generated files are not committed and current.
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

.PHONY: test
test: envtest vet ## Run all tests (unit, envtest suites, end-to-end, packaging) against the self-built control plane.
	go test ./... -count=1 -timeout 45m
	$(MAKE) test-packaging

.PHONY: test-packaging
test-packaging: envtest ## Test the Helm chart, alerts, dashboard, metrics doc and krew manifest (test/packaging, a module of its own: Helm's and Prometheus' libraries).
	cd test/packaging && go vet ./... && go test ./... -count=1 -timeout 20m

.PHONY: test-unit
test-unit: ## Run only the pure tests (no API server).
	go test ./internal/... ./api/... -count=1

.PHONY: fuzz
fuzz: ## Fuzz the planner (FUZZTIME=10m).
	go test ./internal/planner/ -run='^$$' -fuzz=FuzzPlan -fuzztime=$(or $(FUZZTIME),60s)

.PHONY: bench
bench: ## Run the planner benchmarks.
	go test ./internal/planner/ -run='^$$' -bench=BenchmarkPlan -benchmem

.PHONY: bench-e2e
bench-e2e: envtest build ## Measure the manager end to end vs the API server's write floor (BENCH_E2E_ARGS="-sizes 2000,10000 -idle 60s").
	go run ./hack/bench-e2e -manager bin/manager $(BENCH_E2E_ARGS)

.PHONY: test-chaos
test-chaos: envtest ## Long reliability runs: 1000-operation churn under the seat watcher, plus the fault suite.
	CHAOS_OPS=1000 go test ./controllers/ -count=1 -timeout 30m -ginkgo.focus='Seat invariant' -ginkgo.v
	go test ./test/chaos/ -count=1 -timeout 30m -ginkgo.v

##@ Build

# Version stamped into the binaries (internal/version; `manager --version`,
# `kubectl license version`, the license_operator_build_info metric). Outside
# a git checkout they stay empty and the binary falls back to what the Go
# toolchain recorded, else "devel".
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/licenseops/license-operator/internal/version
LDFLAGS ?= -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).Date=$(BUILD_DATE)

.PHONY: build
build: ## Build the manager binary, stamped with VERSION, COMMIT and BUILD_DATE.
	CGO_ENABLED=0 go build -trimpath -ldflags "${LDFLAGS}" -o bin/manager ./cmd/manager

.PHONY: run
run: manifests generate ## Run the manager against the cluster of your kubeconfig.
	go run ./cmd/manager

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine).
	docker build --build-arg LDFLAGS="$(LDFLAGS)" -t $(IMG) .

##@ Dependencies

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl from source into bin/k8s (skipped when present).
	@ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/build-envtest.sh $(LOCALBIN) >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/.
$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

##@ Demo

# `make demo KEEP=1` leaves the local control plane and the manager running.
KEEP ?=

.PHONY: demo
demo: envtest build ## Run the manager against a local control plane, apply config/samples and print the result (no cluster, no Docker; KEEP=1 keeps it running).
	KEEP="$(KEEP)" MANAGER="$(CURDIR)/bin/manager" hack/demo.sh

.PHONY: demo-stop
demo-stop: ## Stop a demo left running by `make demo KEEP=1`.
	MANAGER="$(CURDIR)/bin/manager" hack/demo.sh stop

##@ Deployment
# Installing needs Go and a kubectl, nothing else: config/ is rendered with
# kustomize's Go library (hack/render-install), and KUBECTL is the kubectl on
# PATH, else the one `make envtest` built. These targets never build the
# control plane.

KUBECTL ?= $(or $(shell command -v kubectl 2>/dev/null),$(wildcard $(ENVTEST_ASSETS)/kubectl))
RENDER := go run ./hack/render-install

.PHONY: kubectl-check
kubectl-check:
	@test -n "$(KUBECTL)" || { echo "no kubectl: put one on PATH (or run 'make envtest', or set KUBECTL=...)"; exit 1; }

.PHONY: install
install: kubectl-check ## Install the CRDs into the cluster of your kubeconfig (server-side apply).
	$(RENDER) --kustomization config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: kubectl-check ## Remove the CRDs from the cluster of your kubeconfig: deletes every licensing object.
	$(RENDER) --kustomization config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: kubectl-check ## Install CRDs, RBAC and the manager with image IMG into the cluster of your kubeconfig (server-side apply).
	$(RENDER) --image "$(IMG)" | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kubectl-check ## Remove the manager, its RBAC and namespace; keeps the CRDs and every licensing object (`make uninstall` removes those).
	$(RENDER) --without-crds | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: build-installer
build-installer: ## Render config/default with IMG into dist/install.yaml (kubectl apply --server-side -f dist/install.yaml). Needs only Go.
	@mkdir -p dist
	$(RENDER) --image "$(IMG)" > dist/install.yaml
	@echo "wrote dist/install.yaml (manager image $(IMG))"

.PHONY: helm-chart
helm-chart: ## Regenerate dist/chart from config/ (commit the result; the packaging tests fail when it is stale).
	go run ./hack/helm-chart

##@ Release
# A release is a tag vX.Y.Z: `make release-manifests VERSION=vX.Y.Z` writes
# dist/install.yaml and the packaged chart with the image pinned to
# IMAGE_REPO:VERSION (or IMG=repo@sha256:... to pin a digest); `make
# release-snapshot` builds every binary, archive, checksum and the krew
# manifest locally with GoReleaser.

IMAGE_REPO ?= ghcr.io/licenseops/license-operator
GORELEASER_VERSION ?= v2.15.1
# The first run compiles GoReleaser (about 16 minutes on 2 loaded cores) and
# then 12 cross builds: hence the long --timeout (GoReleaser's default is 1h).
GORELEASER ?= go run github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

.PHONY: release-manifests
release-manifests: ## Write dist/install.yaml and dist/license-operator-<VERSION>.tgz (the Helm chart) for release VERSION, image pinned.
	@[[ "$(VERSION)" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$ ]] || { echo "VERSION=$(VERSION) is not a release tag vX.Y.Z: run 'make release-manifests VERSION=vX.Y.Z'"; exit 1; }
	@mkdir -p dist
	$(RENDER) --image "$(or $(filter-out $(IMG_DEFAULT),$(IMG)),$(IMAGE_REPO):$(VERSION))" > dist/install.yaml
	go run ./hack/helm-chart -out dist/.release-chart -version "$(VERSION:v%=%)" -app-version "$(VERSION)" -image-repository "$(IMAGE_REPO)"
	tar -czf "dist/license-operator-$(VERSION:v%=%).tgz" -C dist/.release-chart --transform 's,^\.,license-operator,' .
	rm -rf dist/.release-chart
	@echo "wrote dist/install.yaml and dist/license-operator-$(VERSION:v%=%).tgz (image $(or $(filter-out $(IMG_DEFAULT),$(IMG)),$(IMAGE_REPO):$(VERSION)))"

.PHONY: release-snapshot
release-snapshot: ## Build the release locally with GoReleaser (binaries for linux/darwin/windows x amd64/arm64, archives, checksums, krew manifest) into dist/goreleaser; then copy the krew manifest to plugins/license.yaml.
	$(GORELEASER) release --snapshot --clean --skip=publish --timeout=3h
	@mkdir -p plugins
	cp dist/goreleaser/krew/license.yaml plugins/license.yaml
	@echo "plugins/license.yaml updated from dist/goreleaser/krew/license.yaml"

##@ kubectl plugin
# ---- kubectl-license (cmd/kubectl-license) ---------------------------------
# `kubectl license ...` works once an executable named kubectl-license is on
# PATH. PLUGIN_DIR is where install-plugin copies it (default ~/.local/bin).

PLUGIN_DIR ?= $(HOME)/.local/bin

.PHONY: build-plugin
build-plugin: ## Build the kubectl plugin into bin/kubectl-license.
	CGO_ENABLED=0 go build -trimpath -o bin/kubectl-license ./cmd/kubectl-license

.PHONY: install-plugin
install-plugin: build-plugin ## Copy bin/kubectl-license and its completion helper kubectl_complete-license to PLUGIN_DIR (default ~/.local/bin, must be on PATH): then `kubectl license <TAB>`.
	@mkdir -p "$(PLUGIN_DIR)"
	install -m 0755 bin/kubectl-license "$(PLUGIN_DIR)/kubectl-license"
	install -m 0755 cmd/kubectl-license/kubectl_complete-license "$(PLUGIN_DIR)/kubectl_complete-license"
	@case ":$$PATH:" in *":$(PLUGIN_DIR):"*) ;; *) echo "note: $(PLUGIN_DIR) is not on PATH: add it, or run 'make install-plugin PLUGIN_DIR=<a directory on PATH>'";; esac
	@echo "installed $(PLUGIN_DIR)/kubectl-license and kubectl_complete-license: try 'kubectl license --help' and 'kubectl license <TAB>' (with kubectl's own completion loaded)"

.PHONY: bench-import
bench-import: envtest build-plugin ## kubectl license import --apply of 10,000 users vs a bare client, against a local API server: prints the ratio (BENCH_IMPORT_ARGS="-users 10000 -concurrency 16 -rounds 3").
	go run ./hack/bench-import -plugin bin/kubectl-license $(BENCH_IMPORT_ARGS)
# ---- end kubectl-license ----------------------------------------------------
