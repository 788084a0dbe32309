package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Exit codes.
const (
	// exitFailure: an API error, invalid CSV rows, or a plan that fails --fail-on.
	exitFailure = 1
	// exitUsage: bad flags or arguments, or files that cannot be read.
	exitUsage = 2
)

// fieldManager owns the fields `import --apply`, `assign` and `unassign` write.
const fieldManager = "kubectl-license"

// env is what the commands take from the outside world; tests replace parts.
type env struct {
	streams genericiooptions.IOStreams
	flags   *genericclioptions.ConfigFlags
	// newClient connects to the cluster of the kubeconfig flags.
	newClient func() (client.Client, error)
	// now is the clock of plan and of ages.
	now func() time.Time
	// isTerminal tells whether a stream is a terminal (progress bars).
	isTerminal func(w io.Writer) bool
}

func newEnv(streams genericiooptions.IOStreams) *env {
	e := &env{
		streams:    streams,
		flags:      genericclioptions.NewConfigFlags(true),
		now:        time.Now,
		isTerminal: isTerminal,
	}
	e.newClient = func() (client.Client, error) {
		cfg, err := e.flags.ToRESTConfig()
		if err != nil {
			return nil, fmt.Errorf("reading the kubeconfig: %w", err)
		}
		cfg.UserAgent = "kubectl-license"
		// No client-side rate limit (client-go's default is 5 requests/s):
		// bulk commands bound their requests with --concurrency, and the
		// API server's priority and fairness protects the server.
		cfg.QPS = -1
		return client.New(cfg, client.Options{Scheme: scheme})
	}
	return e
}

// scheme knows the licensing kinds and events.k8s.io/v1.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(licv1.AddToScheme(s))
	utilruntime.Must(eventsv1.AddToScheme(s))
	return s
}()

// namespace is the namespace of -n, else the kubeconfig's, else "default".
func (e *env) namespace() (string, error) {
	ns, _, err := e.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// clientIn returns a client and the namespace to list in: -n's (or the
// kubeconfig's), or "" (every namespace) with -A.
func (e *env) clientIn(allNamespaces bool) (client.Client, string, error) {
	ns, err := e.namespace()
	if err != nil {
		return nil, "", err
	}
	if allNamespaces {
		ns = ""
	}
	c, err := e.newClient()
	return c, ns, err
}

// exitError carries an exit code; a nil err prints nothing more.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a bad flag or argument (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// readError is a file that cannot be read (exit 2).
func readError(err error) error { return &exitError{code: exitUsage, err: err} }

// silentExit exits with code after the command printed its own report.
func silentExit(code int) error { return &exitError{code: code} }

// run executes the plugin with args and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	cmd := newRootCommand(e)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := exitFailure
	var ex *exitError
	if errors.As(err, &ex) {
		code = ex.code
		if ex.err == nil {
			return code
		}
	} else if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		code = exitUsage
	}
	fmt.Fprintf(e.streams.ErrOut, "error: %v\n", err)
	return code
}

func newRootCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-license",
		Short: "Inspect, plan and bulk-assign license-operator licenses",
		Long: `kubectl license shows and changes Microsoft 365-style licenses managed by
license-operator (LicenseSku, LicenseGroup, UserLicense).

  seats     seats of every SKU, like the admin center's Licenses page
  holders   who holds a SKU's seats and who waits for one, in queue order
  user      one user's effective licenses and assignment history
  assign    give a user a license directly (shows the outcome first)
  unassign  take a user's direct license away (shows the outcome first)
  plan      offline what-if of manifests or a kustomization (a GitOps
            repository), validated as the API server would, optionally
            against the live cluster
  import    bulk assignment from the admin center's CSV export or an
            admin-center style CSV file
  version   the plugin's version

Every command takes -o json|yaml|name|jsonpath=...|go-template=... (tables
also -o wide and --no-headers). Shell completion: see
'kubectl license completion --help'.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl license"},
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.SetIn(e.streams.In)
	cmd.SetOut(e.streams.Out)
	cmd.SetErr(e.streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
	})
	e.flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newSeatsCommand(e), newHoldersCommand(e), newUserCommand(e), newAssignCommand(e, false), newAssignCommand(e, true),
		newPlanCommand(e), newImportCommand(e), newVersionCommand(e), newCompletionCommand(cmd))
	cmd.CompletionOptions.DisableDefaultCmd = true
	registerFlagCompletions(e, cmd)
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error naming what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s expects %s, got %d arguments (see '%s --help')", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q (see '%s --help')", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath())
	}
	return nil
}

// ctx is the command's context (cancelled by Ctrl-C).
func ctx(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}
