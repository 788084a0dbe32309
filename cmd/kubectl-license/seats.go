package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

func newSeatsCommand(e *env) *cobra.Command {
	var (
		all    bool
		output string
	)
	cmd := &cobra.Command{
		Use:   "seats [-n NAMESPACE | -A] [-o wide|json|yaml]",
		Short: "Show the seats of every LicenseSku, like the admin center's Licenses page",
		Long: `Show, per LicenseSku, the seats bought (TOTAL, every subscription), the usable
seats (Enabled and Warning subscriptions), how many are assigned and available,
how many users request the SKU and how many wait for a seat, and its state:
OK, InsufficientSeats, Overallocated, SubscriptionsInactive or Pending (not yet
processed by the controller).`,
		Example: `  kubectl license seats -n contoso
  kubectl license seats -A -o wide
  kubectl license seats -n contoso -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", "wide", "json", "yaml"); err != nil {
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
			switch output {
			case "json", "yaml":
				return printData(e.streams.Out, output, map[string]any{"items": rows})
			}
			if len(rows) == 0 {
				if all {
					fmt.Fprintln(e.streams.ErrOut, "No LicenseSkus found.")
				} else {
					fmt.Fprintf(e.streams.ErrOut, "No LicenseSkus found in namespace %s.\n", ns)
				}
				return nil
			}
			return licensecli.WriteSeatTable(e.streams.Out, rows, licensecli.SeatTableOptions{Namespace: all, Wide: output == "wide"})
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the SKUs of every namespace (tenant)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}
