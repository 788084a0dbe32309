// Package packaging tests what a platform team installs and watches, with
// the tools' own libraries: the Helm chart (helm.sh/helm/v3: lint, render,
// drift from config/, server-side dry-run against a real kube-apiserver),
// the Prometheus alerts (Prometheus' rule engine over the series the manager
// really exports), the Grafana dashboard's queries, docs/metrics.md, and the
// krew manifest (sigs.k8s.io/krew's types).
//
// It is a module of its own (test/packaging/go.mod, the operator through a
// replace) so that Helm's and Prometheus' dependencies stay out of the
// operator's go.mod. `make test` runs it.
package packaging
