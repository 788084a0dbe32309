package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// interruptGrace is how long the writes in flight may take to finish
// after Ctrl-C.
const interruptGrace = 10 * time.Second

type applyOptions struct {
	force       bool
	dryRun      string
	concurrency int
	out         *outputFlags
}

// applyOutcome is what happened to one user.
type applyOutcome int

const (
	outcomeCreated applyOutcome = iota
	outcomeChanged
	outcomeUnchanged
	outcomeFailed
	outcomeNotAttempted
)

// applyResult is the outcome of one user's write.
type applyResult struct {
	outcome applyOutcome
	note    string
	err     error
	// obj is the object as the server returned it (or the live one when
	// unchanged), for -o.
	obj runtime.Object
}

// applySummary counts the outcomes of a bulk apply.
type applySummary struct {
	Created, Changed, Unchanged, Failed, NotAttempted int
}

func (s applySummary) String() string {
	out := fmt.Sprintf("%d created, %d changed, %d unchanged, %d failed", s.Created, s.Changed, s.Unchanged, s.Failed)
	if s.NotAttempted > 0 {
		out += fmt.Sprintf(", %d not attempted", s.NotAttempted)
	}
	return out
}

// applyUsers writes every changed user with server-side apply,
// o.concurrency at a time, and reports each in input order (lines on
// standard output, or the objects with -o), a progress bar or progress
// lines on standard error, and a summary. Unchanged users are not
// written, so re-running after a failure writes only what is left. live
// holds the listed users by name (printed for unchanged users with -o).
func (e *env) applyUsers(ctx context.Context, c client.Client, users []licensecli.UserImport, live map[string]runtime.Object, o applyOptions) error {
	start := time.Now()
	results := make([]applyResult, len(users))
	done := make([]chan struct{}, len(users))
	for i := range done {
		done[i] = make(chan struct{})
	}
	suffix := ""
	switch o.dryRun {
	case dryRunServer:
		suffix = " (server dry run)"
	case dryRunClient:
		suffix = " (dry run)"
	}

	toWrite := 0
	for i := range users {
		if !users[i].Unchanged {
			toWrite++
		}
	}
	bar := newProgress(e.streams.ErrOut, e.isTerminal(e.streams.ErrOut), toWrite, "users")

	// Ctrl-C (ctx) stops launching writes; the writes in flight get
	// interruptGrace to finish, so that an interrupted import reports
	// what it wrote rather than a burst of cancelled requests.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-time.After(interruptGrace):
				cancelReqs()
			case <-reqCtx.Done():
			}
		case <-reqCtx.Done():
		}
	}()

	// Writers: o.concurrency at a time, in input order.
	go func() {
		sem := make(chan struct{}, o.concurrency)
		var wg sync.WaitGroup
		for i := range users {
			u := &users[i]
			if u.Unchanged {
				results[i] = applyResult{outcome: outcomeUnchanged, obj: live[u.Object.Name]}
				close(done[i])
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				results[i] = applyResult{outcome: outcomeNotAttempted}
				close(done[i])
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] = applyOne(reqCtx, c, u, o)
				bar.add(1)
				close(done[i])
			}()
		}
		wg.Wait()
	}()

	// Report in input order as results arrive.
	var sum applySummary
	var objs []runtime.Object
	human := o.out.human()
	for i := range users {
		<-done[i]
		u, r := &users[i], results[i]
		ref := "userlicense/" + u.Object.Name
		switch r.outcome {
		case outcomeCreated:
			sum.Created++
		case outcomeChanged:
			sum.Changed++
		case outcomeUnchanged:
			sum.Unchanged++
		case outcomeFailed:
			sum.Failed++
		case outcomeNotAttempted:
			sum.NotAttempted++
			continue
		}
		if r.outcome == outcomeFailed {
			hint := ""
			var conflict *applyConflictError
			if errors.As(r.err, &conflict) && !o.force {
				hint = "; re-run with --force-conflicts to take these fields over"
			}
			bar.println(e.streams.ErrOut, fmt.Sprintf("error: %s (%s, line(s) %s): %v%s", ref, describeUser(u), joinLines(u.Lines), r.err, hint))
			continue
		}
		if r.obj != nil {
			objs = append(objs, r.obj)
		}
		if !human {
			continue
		}
		var line string
		switch r.outcome {
		case outcomeUnchanged:
			line = ref + " unchanged"
		case outcomeCreated:
			line = fmt.Sprintf("%s created%s: %s%s", ref, suffix, u.Summary(), r.note)
		default:
			line = fmt.Sprintf("%s configured%s: %s%s", ref, suffix, u.Summary(), r.note)
		}
		bar.println(e.streams.Out, line)
	}
	bar.finish()

	if !human {
		if err := o.out.printObjects(e.streams.Out, objs); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.streams.ErrOut, "Summary%s: %s (%d users in %s)\n", suffix, sum, len(users), time.Since(start).Round(time.Millisecond))
	switch {
	case sum.NotAttempted > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("interrupted: %d user(s) not attempted; run the same command again to apply what is left (applied users are unchanged and skipped)", sum.NotAttempted)}
	case sum.Failed > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d user(s) could not be applied; correct the cause and run the same command again: it applies only what is left", sum.Failed, len(users))}
	}
	return nil
}

func describeUser(u *licensecli.UserImport) string {
	if u.DisplayName != "" {
		return u.DisplayName + " <" + u.Object.Spec.UserPrincipalName + ">"
	}
	return u.Object.Spec.UserPrincipalName
}

// applyOne writes one user and classifies the outcome.
func applyOne(ctx context.Context, c client.Client, u *licensecli.UserImport, o applyOptions) applyResult {
	outcome := outcomeChanged
	if !u.Existing {
		outcome = outcomeCreated
	}
	if o.dryRun == dryRunClient {
		return applyResult{outcome: outcome, obj: gitOpsObject(u.Object)}
	}
	obj, note, err := applyUser(ctx, c, u, o.force, o.dryRun == dryRunServer)
	if err != nil {
		return applyResult{outcome: outcomeFailed, err: err}
	}
	return applyResult{outcome: outcome, note: note, obj: obj}
}

// applyUser server-side applies the fields the import owns: the user
// principal name, the usage location, and the whole resulting
// spec.licenses. Server-side apply merges spec.licenses
// by sku and keeps entries another field manager set, so when such an
// entry must go (replace, remove) or a plan list that merged with another
// manager's differs, the list is then set to the desired one with a merge
// patch guarded by the resourceVersion of the apply's result.
func applyUser(ctx context.Context, c client.Client, u *licensecli.UserImport, force, serverDryRun bool) (runtime.Object, string, error) {
	// Every field this manager may have set before is sent with its
	// desired value: server-side apply removes the fields a manager owned
	// and no longer sends (a later assign would otherwise drop the usage
	// location an import set).
	spec := map[string]any{"userPrincipalName": u.Object.Spec.UserPrincipalName}
	if loc := u.Object.Spec.UsageLocation; loc != "" {
		spec["usageLocation"] = loc
	}
	licenses := make([]any, 0, len(u.ApplyLicenses))
	for i := range u.ApplyLicenses {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&u.ApplyLicenses[i])
		if err != nil {
			return nil, "", err
		}
		licenses = append(licenses, m)
	}
	spec["licenses"] = licenses
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": licv1.GroupVersion.String(),
		"kind":       licensecli.KindUserLicense,
		"metadata":   map[string]any{"name": u.Object.Name, "namespace": u.Object.Namespace},
		"spec":       spec,
	}}
	opts := []client.ApplyOption{client.FieldOwner(fieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	if serverDryRun {
		opts = append(opts, client.DryRunAll)
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), opts...); err != nil {
		if apierrors.IsConflict(err) {
			return nil, "", &applyConflictError{err}
		}
		return nil, "", err
	}

	var applied licv1.UserLicense
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &applied); err != nil {
		return nil, "", err
	}
	want := u.Object.Spec.Licenses
	if licensecli.EqualAssignments(applied.Spec.Licenses, want) {
		return obj, "", nil
	}
	if serverDryRun {
		return obj, " (entries set by other field managers would be adjusted)", nil
	}
	if want == nil {
		want = []licv1.LicenseAssignment{}
	}
	// The controller writes the status right after the apply, which
	// changes the resourceVersion: re-read and retry while spec.licenses
	// is still what the apply left; stop if someone else changed it.
	seen := applied.Spec.Licenses
	for attempt := 0; ; attempt++ {
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": applied.ResourceVersion},
			"spec":     map[string]any{"licenses": want},
		})
		if err != nil {
			return nil, "", err
		}
		err = c.Patch(ctx, &applied, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager))
		if err == nil {
			applied.SetGroupVersionKind(licv1.GroupVersion.WithKind(licensecli.KindUserLicense))
			return &applied, " (entries set by other field managers adjusted)", nil
		}
		if !apierrors.IsConflict(err) || attempt == 4 {
			return nil, "", fmt.Errorf("setting spec.licenses after server-side apply: %w", err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(&applied), &applied); err != nil {
			return nil, "", fmt.Errorf("re-reading after a conflict: %w", err)
		}
		if !licensecli.EqualAssignments(applied.Spec.Licenses, seen) {
			return nil, "", fmt.Errorf("spec.licenses changed while importing (now %s): run the import again", formatAssignments(applied.Spec.Licenses))
		}
	}
}

// applyConflictError is a server-side apply conflict with another field manager.
type applyConflictError struct{ err error }

func (e *applyConflictError) Error() string { return e.err.Error() }
func (e *applyConflictError) Unwrap() error { return e.err }

func formatAssignments(ls []licv1.LicenseAssignment) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.SKU
	}
	return "[" + strings.Join(names, ", ") + "]"
}
