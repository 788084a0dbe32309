// Command kubectl-license is a kubectl plugin for license-operator: on the
// PATH it runs as `kubectl license ...`.
//
//	kubectl license seats [-n NS | -A] [-o wide|json|yaml]
//	kubectl license user UPN [-n NS | -A] [-o json|yaml]
//	kubectl license plan -f DIR|FILE [-R] [--against-cluster] [--fail-on=error|waiting|none] [-o text|json]
//	kubectl license import FILE.csv [-n NS] [--mode add|replace|remove] [-o yaml|json] [--apply] [--skip-invalid]
//
// See docs/kubectl-license.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	// Ctrl-C cancels requests in flight (import --apply stops between users).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	code := run(ctx, os.Args[1:], newEnv(streams))
	stop()
	os.Exit(code)
}
