package main

import (
	"context"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// kubectlCompleteScript is the kubectl_complete-license executable that
// makes kubectl complete `kubectl license <TAB>`.
//
//go:embed kubectl_complete-license
var kubectlCompleteScript string

// completionTimeout bounds the cluster lookups of a completion: a slow
// or unreachable cluster must not hang the shell.
const completionTimeout = 3 * time.Second

func newCompletionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell|kubectl",
		Short: "Print a shell completion script",
		Long: `Print a shell completion script.

For 'kubectl license <TAB>' (kubectl 1.26 and later): kubectl completes a
plugin's arguments by running the executable kubectl_complete-license from
PATH. 'kubectl license completion kubectl' prints it; make install-plugin
installs it next to kubectl-license:

  kubectl license completion kubectl > ~/.local/bin/kubectl_complete-license
  chmod +x ~/.local/bin/kubectl_complete-license

kubectl's own completion must be loaded in the shell ('source <(kubectl
completion bash)'). Commands, flags, SKU names and part numbers (holders,
assign, unassign), user principal names (user, assign, unassign) and
namespaces holding licensing objects (-n) are completed; the last three
are read from the cluster of the kubeconfig.

For 'kubectl-license <TAB>' run directly: bash, zsh, fish or powershell,
as for kubectl itself, e.g. 'source <(kubectl-license completion bash)'.`,
		Example: `  kubectl license completion kubectl > ~/.local/bin/kubectl_complete-license && chmod +x ~/.local/bin/kubectl_complete-license
  source <(kubectl-license completion bash)`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell", "kubectl"},
		Args:      exactArgs(1, "one shell: bash, zsh, fish, powershell or kubectl"),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			case "kubectl":
				_, err := fmt.Fprint(out, kubectlCompleteScript)
				return err
			}
			return usageErrorf("unknown shell %q: use bash, zsh, fish, powershell or kubectl", args[0])
		},
	}
}

// registerFlagCompletions completes the flags with fixed values, and -n
// with the namespaces that hold LicenseSkus (the tenants).
func registerFlagCompletions(e *env, root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeFromCluster(e, func(ctx context.Context, c client.Client) ([]string, error) {
			var skus licv1.LicenseSkuList
			if err := c.List(ctx, &skus); err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			var out []string
			for _, s := range skus.Items {
				if !seen[s.Namespace] {
					seen[s.Namespace] = true
					out = append(out, s.Namespace)
				}
			}
			return out, nil
		}, toComplete)
	})
	fixed := map[string][]string{
		"fail-on": {failOnNone, failOnError, failOnWaiting},
		"mode":    {string(licensecli.ModeAdd), string(licensecli.ModeReplace), string(licensecli.ModeRemove)},
		"dry-run": {dryRunNone, dryRunClient, dryRunServer},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range fixed {
			if c.Flags().Lookup(name) != nil {
				values := values
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeFromCluster runs list against the cluster of the kubeconfig
// flags and returns the values starting with toComplete, sorted. Errors
// complete nothing (the shell shows no candidates).
func completeFromCluster(e *env, list func(context.Context, client.Client) ([]string, error), toComplete string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	c, err := e.newClient()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	values, err := list(ctx, c)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), strings.ToLower(toComplete)) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeSKUs completes LicenseSku names and part numbers of the namespace.
func completeSKUs(e *env, toComplete string) ([]string, cobra.ShellCompDirective) {
	return completeFromCluster(e, func(ctx context.Context, c client.Client) ([]string, error) {
		ns, err := e.namespace()
		if err != nil {
			return nil, err
		}
		var skus licv1.LicenseSkuList
		if err := c.List(ctx, &skus, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		var out []string
		for _, s := range skus.Items {
			out = append(out, s.Name+"\t"+s.Spec.SkuPartNumber+" "+s.Spec.DisplayName)
		}
		return out, nil
	}, toComplete)
}

// completeUsers completes the user principal names of the namespace
// (the first 500 matches).
func completeUsers(e *env, toComplete string) ([]string, cobra.ShellCompDirective) {
	return completeFromCluster(e, func(ctx context.Context, c client.Client) ([]string, error) {
		ns, err := e.namespace()
		if err != nil {
			return nil, err
		}
		var out []string
		err = listPages(ctx, c, ns, func(users []licv1.UserLicense) bool {
			for _, u := range users {
				if strings.HasPrefix(strings.ToLower(u.Spec.UserPrincipalName), strings.ToLower(toComplete)) {
					out = append(out, u.Spec.UserPrincipalName)
				}
			}
			return len(out) < 500
		})
		return out, err
	}, toComplete)
}
