package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/licenseops/license-operator/internal/version"
)

func newVersionCommand(e *env) *cobra.Command {
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "version [-o json|yaml]",
		Short: "Print the plugin's version",
		Long: `Print the version of kubectl-license: the release it was built from (or
"devel", or the module version of go install), the commit, the build time,
the Go version and the platform.`,
		Example: `  kubectl license version
  kubectl license version -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			v := version.Get()
			if !out.human() {
				return out.printData(e.streams.Out, v, nil)
			}
			_, err := fmt.Fprintf(e.streams.Out, "kubectl-license %s\n", v)
			return err
		},
	}
	out = addOutputFlags(cmd, false)
	out.noName = true
	out.setUsage(cmd)
	return cmd
}
