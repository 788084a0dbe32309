// Command kubectl-license is a kubectl plugin for license-operator: on the
// PATH it runs as `kubectl license ...`.
//
//	kubectl license seats [-n NS | -A]
//	kubectl license holders SKU [-n NS]
//	kubectl license user UPN [-n NS | -A]
//	kubectl license assign UPN SKU [--disabled-plans P,...] [--dry-run=server]
//	kubectl license unassign UPN SKU [--dry-run=server]
//	kubectl license plan (-f DIR|FILE|- [-R] | -k DIR) [--against-cluster] [--fail-on=error|waiting|none]
//	kubectl license import FILE.csv [-n NS] [--mode add|replace|remove] [--apply [--dry-run=server]] [--skip-invalid] [--tenant T]
//	kubectl license version
//	kubectl license completion bash|zsh|fish|powershell|kubectl
//
// Every command takes -o json|yaml|name|jsonpath=...|go-template=...
// (tables also -o wide and --no-headers). See docs/kubectl-license.md.
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
