package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
		paths          []string
		recursive      bool
		againstCluster bool
		failOn         string
		output         string
	)
	cmd := &cobra.Command{
		Use:   "plan -f DIR|FILE [-R] [--against-cluster] [--fail-on=error|waiting|none] [-o text|json]",
		Short: "What-if: plan the licenses of manifests offline, optionally against the cluster",
		Long: `Read LicenseSkus, LicenseGroups and UserLicenses from manifests (a GitOps
repository: files, directories, -R for subdirectories; other kinds are counted
and ignored), group them by namespace (objects without one go to -n or the
kubeconfig's namespace) and run the controller's planner on them, with no
cluster. Per namespace it prints the seats of every SKU, every license that
would be in Error with its reason and what to do, duplicate service plans and
group members without a UserLicense.

With --against-cluster the manifests are laid over the live objects of those
namespaces, as kubectl apply would (an object of the files replaces the spec
and labels of the live one and keeps its status, i.e. who holds seats now), and
the output lists who would gain a seat, lose a seat, start or stop waiting for
one, or change error, per SKU and user.

Exit status: 0, or 1 when --fail-on=error and a license would be in Error, or
--fail-on=waiting and a license would wait for a seat (InsufficientSeats);
2 when the manifests cannot be read or a flag is wrong.`,
		Example: `  # Review a GitOps repository
  kubectl license plan -f tenants/ -R

  # In CI: fail the pull request when a user would be left without a license
  kubectl license plan -f tenants/ -R --against-cluster --fail-on=error

  # Machine-readable
  kubectl license plan -f config/samples -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			switch failOn {
			case failOnNone, failOnError, failOnWaiting:
			default:
				return usageErrorf("--fail-on %q is not one of error, waiting, none", failOn)
			}
			if len(paths) == 0 {
				return usageErrorf("plan needs manifests: -f DIR or -f FILE (repeatable, - for standard input)")
			}
			ns, err := e.namespace()
			if err != nil {
				return readError(err)
			}
			m, err := e.readManifests(paths, recursive, ns)
			if err != nil {
				return readError(fmt.Errorf("reading manifests: %w", err))
			}
			tenants := m.Tenants()
			report := &licensecli.PlanReport{Ignored: m.Ignored(), AgainstCluster: againstCluster, Namespaces: []licensecli.NamespacePlan{}}
			if len(tenants) == 0 {
				fmt.Fprintf(e.streams.ErrOut, "warning: no LicenseSku, LicenseGroup or UserLicense found in %v\n", paths)
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
				live, err := liveTenant(cmd, c, t.Namespace)
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

			if output == "json" {
				err = printData(e.streams.Out, "json", report)
			} else {
				err = licensecli.WritePlanText(e.streams.Out, report)
			}
			if err != nil {
				return err
			}
			s := report.Summary
			if failOn == failOnError && s.Errors > 0 || failOn == failOnWaiting && s.Waiting > 0 {
				return silentExit(exitFailure)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&paths, "filename", "f", nil, "manifest file or directory (repeatable; - reads standard input)")
	cmd.Flags().BoolVarP(&recursive, "recursive", "R", false, "read the directories given with -f recursively")
	cmd.Flags().BoolVar(&againstCluster, "against-cluster", false, "overlay the manifests on the live objects and show the changes")
	cmd.Flags().StringVar(&failOn, "fail-on", failOnNone, "exit 1 when a license would be in Error (error) or wait for a seat (waiting); none never fails")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// liveTenant lists the licensing objects of namespace ns.
func liveTenant(cmd *cobra.Command, c client.Client, ns string) (*licensecli.Tenant, error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
		users  licv1.UserLicenseList
	)
	t := &licensecli.Tenant{Namespace: ns}
	if err := c.List(ctx(cmd), &skus, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing LicenseSkus in namespace %s: %w", ns, err)
	}
	if err := c.List(ctx(cmd), &groups, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing LicenseGroups in namespace %s: %w", ns, err)
	}
	if err := c.List(ctx(cmd), &users, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing UserLicenses in namespace %s: %w", ns, err)
	}
	for i := range skus.Items {
		t.SKUs = append(t.SKUs, &skus.Items[i])
	}
	for i := range groups.Items {
		t.Groups = append(t.Groups, &groups.Items[i])
	}
	for i := range users.Items {
		t.Users = append(t.Users, &users.Items[i])
	}
	licensecli.SortTenant(t)
	return t, nil
}
