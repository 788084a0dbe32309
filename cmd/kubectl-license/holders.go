package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

func newHoldersCommand(e *env) *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "holders SKU [-n NAMESPACE] [-o wide|json|yaml|name|jsonpath=...] [--no-headers]",
		Short: "Who holds a SKU's seats and who waits for one, in queue order",
		Long: `List the users requesting a LicenseSku (named by metadata.name or by part
number, such as SPE_E3 or contoso:SPE_E3), from their statuses:

  - the holders (state Active, or Disabled: the seat is kept while every
    subscription is inactive), earliest first, with since when;
  - the queue (state Waiting, reason InsufficientSeats), in the order the
    controller hands out the next free seats: direct assignments before
    group-only ones, then the highest priority of the user's groups, then
    whoever waits longest (waitingSince), then userPrincipalName; # is the
    place in line;
  - the requests failing for another reason (no usage location, conflicting
    plans, ...), which take no seat and are not queued.

-o wide adds the exact times, the disabled plans and the message.`,
		Example: `  kubectl license holders SPE_E3 -n contoso
  kubectl license holders exchange-p1 -n contoso -o wide
  kubectl license holders SPE_E3 -n contoso -o jsonpath='{.queue[0].userPrincipalName}'`,
		Args: exactArgs(1, "one LicenseSku (name or part number)"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeSKUs(e, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, ns, err := e.clientIn(false)
			if err != nil {
				return err
			}
			var skus licv1.LicenseSkuList
			if err := c.List(ctx(cmd), &skus, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("listing LicenseSkus in namespace %s: %w", ns, err)
			}
			ptrs := make([]*licv1.LicenseSku, len(skus.Items))
			for i := range skus.Items {
				ptrs[i] = &skus.Items[i]
			}
			sku, err := licensecli.ResolveSKU(ptrs, args[0])
			if err != nil {
				return err
			}
			t, err := liveTenant(ctx(cmd), c, ns)
			if err != nil {
				return err
			}
			report := licensecli.BuildHolders(sku, t.Groups, t.Users)
			if !out.human() {
				var refs []runtime.Object
				for _, r := range report.Rows() {
					refs = append(refs, objectRef(licv1.GroupVersion.String(), licensecli.KindUserLicense, ns, r.Name))
				}
				return out.printData(e.streams.Out, report, refs)
			}
			if len(report.Rows()) == 0 {
				fmt.Fprintf(e.streams.ErrOut, "No user requests %s (%s) in namespace %s.\n", sku.Name, sku.Spec.SkuPartNumber, ns)
				return nil
			}
			if !out.noHeaders {
				fmt.Fprintf(e.streams.ErrOut, "%s (%s): %d of %d usable seats assigned, %d waiting, %d failing\n",
					sku.Name, sku.Spec.SkuPartNumber, report.Assigned, report.UsableSeats, report.Waiting, len(report.Failing))
			}
			return licensecli.WriteHoldersTable(e.streams.Out, &report, licensecli.HolderTableOptions{Wide: out.wide(), NoHeaders: out.noHeaders}, e.now())
		},
	}
	out = addOutputFlags(cmd, true)
	return cmd
}
