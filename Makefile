# license-operator Makefile (kubebuilder layout).
# The two commands a newcomer needs: `make demo` and `make test`.

IMG ?= license-operator:latest
ENVTEST_K8S_VERSION ?= 1.37.2
CONTROLLER_TOOLS_VERSION ?= v0.23.0

LOCALBIN ?= $(CURDIR)/bin
GOOS := $(shell go env GOOS)
GOARCH := $(shell go env GOARCH)
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(ENVTEST_K8S_VERSION)-$(GOOS)-$(GOARCH)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUBECTL ?= $(ENVTEST_ASSETS)/kubectl

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
test: envtest vet ## Run all tests (unit, envtest suites, end-to-end) against the self-built control plane.
	go test ./... -count=1 -timeout 45m

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

.PHONY: build
build: ## Build the manager binary.
	CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd/manager

.PHONY: run
run: manifests generate ## Run the manager against the cluster of your kubeconfig.
	go run ./cmd/manager

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests envtest ## Install the CRDs into the cluster of your kubeconfig.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: envtest ## Remove the CRDs from the cluster of your kubeconfig.
	$(KUBECTL) delete --ignore-not-found -k config/crd

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

##@ Demo and deployment

# `make demo KEEP=1` leaves the local control plane and the manager running.
KEEP ?=

.PHONY: demo
demo: envtest build ## Run the manager against a local control plane, apply config/samples and print the result (no cluster, no Docker; KEEP=1 keeps it running).
	KEEP="$(KEEP)" MANAGER="$(CURDIR)/bin/manager" hack/demo.sh

.PHONY: demo-stop
demo-stop: ## Stop a demo left running by `make demo KEEP=1`.
	MANAGER="$(CURDIR)/bin/manager" hack/demo.sh stop

.PHONY: build-installer
build-installer: envtest ## Render config/default with IMG into dist/install.yaml (kubectl apply --server-side -f dist/install.yaml).
	@mkdir -p dist
	KUBECTL="$(KUBECTL)" hack/render-install.sh --image "$(IMG)" > dist/install.yaml
	@echo "wrote dist/install.yaml (manager image $(IMG))"

.PHONY: deploy
deploy: envtest ## Install CRDs, RBAC and the manager with image IMG into the cluster of your kubeconfig (server-side apply).
	KUBECTL="$(KUBECTL)" hack/render-install.sh --image "$(IMG)" | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: envtest ## Remove the manager, its RBAC and namespace; keeps the CRDs and every licensing object (`make uninstall` removes those).
	KUBECTL="$(KUBECTL)" hack/render-install.sh --without-crds | $(KUBECTL) delete --ignore-not-found -f -

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
