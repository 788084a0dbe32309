package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

func newSeatsCommand(e *env) *cobra.Command {
	var (
		all bool
		out *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "seats [-n NAMESPACE | -A] [-o wide|json|yaml|name|jsonpath=...] [--no-headers]",
		Short: "Show the seats of every LicenseSku, like the admin center's Licenses page",
		Long: `Show, per LicenseSku, the seats bought (TOTAL, every subscription), the usable
seats (Enabled and Warning subscriptions), how many are assigned and available,
how many users request the SKU and how many wait for a seat, and its state:
OK, InsufficientSeats, Overallocated, SubscriptionsInactive or Pending (not yet
processed by the controller). -o wide adds the subscriptions and what to do.`,
		Example: `  kubectl license seats -n contoso
  kubectl license seats -A -o wide
  kubectl license seats -n contoso -o jsonpath='{range .items[*]}{.name}{"\t"}{.available}{"\n"}{end}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, ns, err := e.clientIn(all)
			if err != nil {
				return err
			}
			var skus licv1.LicenseSkuList
			if err := c.List(ctx(cmd), &skus, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("listing LicenseSkus: %w", err)
			}
			rows := make([]licensecli.SeatRow, 0, len(skus.Items))
			for i := range skus.Items {
				rows = append(rows, licensecli.SeatRowOf(&skus.Items[i], &skus.Items[i].Status))
			}
			licensecli.SortSeatRows(rows)
			if !out.human() {
				refs := make([]runtime.Object, len(rows))
				for i, r := range rows {
					refs[i] = objectRef(licv1.GroupVersion.String(), licensecli.KindLicenseSku, r.Namespace, r.Name)
				}
				return out.printData(e.streams.Out, map[string]any{"items": rows}, refs)
			}
			if len(rows) == 0 {
				if all {
					fmt.Fprintln(e.streams.ErrOut, "No LicenseSkus found.")
				} else {
					fmt.Fprintf(e.streams.ErrOut, "No LicenseSkus found in namespace %s.\n", ns)
				}
				return nil
			}
			return licensecli.WriteSeatTable(e.streams.Out, rows, licensecli.SeatTableOptions{Namespace: all, Wide: out.wide(), NoHeaders: out.noHeaders})
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the SKUs of every namespace (tenant)")
	out = addOutputFlags(cmd, true)
	return cmd
}
