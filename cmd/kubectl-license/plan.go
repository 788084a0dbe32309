package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/konfig"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// --fail-on values.
const (
	failOnNone    = "none"
	failOnError   = "error"
	failOnWaiting = "waiting"
)

func newPlanCommand(e *env) *cobra.Command {
	var (
		src            manifestSource
		againstCluster bool
		failOn         string
		out            *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "plan (-f DIR|FILE|- [-R] | -k DIR) [--against-cluster] [--fail-on=error|waiting|none] [-o json|yaml|name|jsonpath=...]",
		Short: "What-if: validate and plan the licenses of manifests offline, optionally against the cluster",
		Long: `Read LicenseSkus, LicenseGroups and UserLicenses from manifests (a GitOps
repository: files, directories, -R for subdirectories, - for standard input;
or -k DIR, the kustomization kubectl apply -k would build; other kinds are
counted and ignored), group them by namespace (objects without one go to -n
or the kubeconfig's namespace) and run the controller's planner on them,
with no cluster. Per namespace it prints the seats of every SKU, every
license that would be in Error with its reason and what to do, duplicate
service plans and group members without a UserLicense.

Every licensing object is first validated as the API server validates it,
with the API server's own code and the project's CRDs: unknown fields,
metadata, the OpenAPI schema (patterns, ranges, enums), list uniqueness and
the CEL rules, after applying the CRDs' defaults. An object the API server
would refuse is reported as kubectl apply reports it, naming the field, and
left out of the plan.

With --against-cluster the manifests are laid over the live objects of those
namespaces, as kubectl apply would (an object of the files replaces the spec
and labels of the live one and keeps its status, i.e. who holds seats now), and
the output lists who would gain a seat, lose a seat, start or stop waiting for
one, or change error, per SKU and user.

Exit status: 0, or 1 when --fail-on=error and a license would be in Error or
an object would be refused, or --fail-on=waiting and a license would wait for
a seat (InsufficientSeats) or an object would be refused; 2 when the
manifests cannot be read or a flag is wrong.`,
		Example: `  # Review a GitOps repository, or its kustomization
  kubectl license plan -f tenants/ -R
  kubectl license plan -k tenants/contoso

  # In CI: fail the pull request when a user would be left without a license
  # or the API server would refuse an object
  kubectl license plan -k tenants/contoso --against-cluster --fail-on=error

  # Machine-readable
  kubectl license plan -f config/samples -o yaml
  kubectl license plan -f config/samples -o jsonpath='{.summary.errors}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			switch failOn {
			case failOnNone, failOnError, failOnWaiting:
			default:
				return usageErrorf("--fail-on %q is not one of error, waiting, none", failOn)
			}
			switch {
			case len(src.paths) == 0 && src.kustomize == "":
				return usageErrorf("plan needs manifests: -f DIR, -f FILE (repeatable, - for standard input) or -k DIR (a kustomization)")
			case len(src.paths) > 0 && src.kustomize != "":
				return usageErrorf("use either -f or -k, not both (as kubectl apply)")
			case src.kustomize != "" && src.recursive:
				return usageErrorf("-R applies to -f directories, not to -k")
			}
			ns, err := e.namespace()
			if err != nil {
				return readError(err)
			}
			validator, err := licensecli.DefaultValidator()
			if err != nil {
				return fmt.Errorf("loading the CRDs to validate with: %w", err)
			}
			m, err := e.readManifests(src, ns, validator)
			if err != nil {
				if dir := kustomizationIn(src.paths); dir != "" {
					return readError(fmt.Errorf("reading manifests: %w\n%s is a kustomization: build it with -k %s", err, dir, dir))
				}
				return readError(fmt.Errorf("reading manifests: %w", err))
			}
			if dir := kustomizationIn(src.paths); dir != "" {
				fmt.Fprintf(e.streams.ErrOut, "note: %s is a kustomization: -f reads its files as they are; -k %s plans what kubectl apply -k would apply\n", dir, dir)
			}
			tenants := m.Tenants()
			report := &licensecli.PlanReport{Ignored: m.Ignored(), Refused: m.Refusals(), AgainstCluster: againstCluster, Namespaces: []licensecli.NamespacePlan{}}
			if len(tenants) == 0 && len(report.Refused) == 0 {
				fmt.Fprintf(e.streams.ErrOut, "warning: no LicenseSku, LicenseGroup or UserLicense found in %s\n", src)
			}

			var c client.Client
			if againstCluster {
				if c, err = e.newClient(); err != nil {
					return err
				}
			}
			now := e.now()
			for _, t := range tenants {
				if !againstCluster {
					np := licensecli.BuildNamespacePlan(t, licensecli.PlanTenant(t, now))
					report.Namespaces = append(report.Namespaces, np)
					continue
				}
				live, err := liveTenant(ctx(cmd), c, t.Namespace)
				if err != nil {
					return err
				}
				merged, warnings := licensecli.Overlay(live, t)
				res := licensecli.PlanTenant(merged, now)
				np := licensecli.BuildNamespacePlan(merged, res)
				np.Changes, np.SeatChanges = licensecli.Diff(merged, res)
				np.Warnings = warnings
				report.Namespaces = append(report.Namespaces, np)
			}
			report.Summarize()

			if out.human() {
				err = licensecli.WritePlanText(e.streams.Out, report)
			} else {
				err = out.printData(e.streams.Out, report, plannedRefs(tenants))
			}
			if err != nil {
				return err
			}
			s := report.Summary
			if failOn == failOnError && (s.Errors > 0 || s.Refused > 0) || failOn == failOnWaiting && (s.Waiting > 0 || s.Refused > 0) {
				return silentExit(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&src.paths, "filename", "f", nil, "manifest file or directory (repeatable; - reads standard input)")
	cmd.Flags().BoolVarP(&src.recursive, "recursive", "R", false, "read the directories given with -f recursively")
	cmd.Flags().StringVarP(&src.kustomize, "kustomize", "k", "", "build the kustomization in this directory (as kubectl apply -k) and plan its objects")
	cmd.Flags().BoolVar(&againstCluster, "against-cluster", false, "overlay the manifests on the live objects and show the changes")
	cmd.Flags().StringVar(&failOn, "fail-on", failOnNone, "exit 1 when a license would be in Error (error) or wait for a seat (waiting), or an object would be refused; none never fails")
	out = addOutputFlags(cmd, false)
	return cmd
}

// String describes the source in messages.
func (s manifestSource) String() string {
	if s.kustomize != "" {
		return "kustomization " + s.kustomize
	}
	return fmt.Sprint(s.paths)
}

// kustomizationIn returns the first of paths that is a directory holding
// a kustomization file, or "".
func kustomizationIn(paths []string) string {
	for _, p := range paths {
		for _, name := range konfig.RecognizedKustomizationFileNames() {
			if st, err := os.Stat(filepath.Join(p, name)); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}

// plannedRefs are the objects of a plan, for -o name.
func plannedRefs(tenants []*licensecli.Tenant) []k8sruntime.Object {
	var refs []k8sruntime.Object
	gv := licv1.GroupVersion.String()
	for _, t := range tenants {
		for _, s := range t.SKUs {
			refs = append(refs, objectRef(gv, licensecli.KindLicenseSku, t.Namespace, s.Name))
		}
		for _, g := range t.Groups {
			refs = append(refs, objectRef(gv, licensecli.KindLicenseGroup, t.Namespace, g.Name))
		}
		for _, u := range t.Users {
			refs = append(refs, objectRef(gv, licensecli.KindUserLicense, t.Namespace, u.Name))
		}
	}
	return refs
}
