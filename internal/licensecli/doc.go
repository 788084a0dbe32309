// Package licensecli is the logic of the kubectl-license plugin without a
// Kubernetes client: decoding licensing manifests into tenants, building
// the seat, user and plan reports, diffing planned statuses against live
// ones, and parsing and applying admin-center style CSV files. Every
// decision about seats and errors is made by internal/planner, the same
// function the controller runs; this package only prepares its input and
// presents its output.
//
// The cobra and cli-runtime wiring, and every API call, live in
// cmd/kubectl-license.
package licensecli
