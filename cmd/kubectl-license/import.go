package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

type importOptions struct {
	mode           string
	output         string
	apply          bool
	skipInvalid    bool
	skusFrom       string
	forceConflicts bool
}

func newImportCommand(e *env) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE.csv [-n NAMESPACE] [--mode add|replace|remove] [-o yaml|json | --apply] [--skip-invalid]",
		Short: "Bulk-assign licenses from an admin-center style CSV file",
		Long: `Read a CSV file with the columns UserPrincipalName and SkuPartNumber (one part
number, or several separated by ';'), and optionally UsageLocation and
DisabledPlans (';'-separated). Header names are case-insensitive, other columns
are ignored; a UTF-8 byte order mark, CRLF line ends and quoted fields are fine.
One user may have several rows.

Part numbers are resolved to the LicenseSkus of the namespace (from the
cluster, or from manifests with --skus-from DIR for offline use; UserLicenses
found there count as existing users). --mode applies the rows to each user's
direct licenses: add merges them (default), replace sets exactly them, remove
drops them. With a DisabledPlans column each row's value replaces the plans of
the SKUs it names; without it a SKU the user already has keeps its plans.

Without --apply the resulting UserLicenses are printed as YAML for a GitOps
repository: existing users with their updated spec, new users named after the
local part of their UPN (DNS-safe, made unique). With --apply they are written
with server-side apply (field manager kubectl-license), owning only
spec.userPrincipalName, spec.usageLocation when the file gives one and the
spec.licenses entries of the file; entries that replace or remove must drop
are removed even when another manager set them.

Every invalid row is reported with its line number. If any row is invalid,
nothing is printed or applied and the exit status is 1, unless --skip-invalid:
then invalid rows are reported on standard error and skipped (with --mode
replace, a user with an invalid row is skipped entirely).`,
		Example: `  # users.csv:
  #   UserPrincipalName,SkuPartNumber,UsageLocation,DisabledPlans
  #   ann@contoso.com,SPE_E3;POWER_BI_PRO,DE,SWAY
  #   ben@contoso.com,SPE_E3,US,

  kubectl license import users.csv -n contoso > tenants/contoso/users.yaml
  kubectl license import users.csv -n contoso --skus-from tenants/contoso
  kubectl license import users.csv -n contoso --mode replace --apply`,
		Args: exactArgs(1, "one CSV file (- for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runImport(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.mode, "mode", string(licensecli.ModeAdd), "what the rows do to each user's direct licenses: add, replace or remove")
	f.StringVarP(&o.output, "output", "o", "", "output format without --apply: yaml (default) or json")
	f.BoolVar(&o.apply, "apply", false, "write the UserLicenses to the cluster with server-side apply instead of printing them")
	f.BoolVar(&o.skipInvalid, "skip-invalid", false, "report invalid rows on standard error and import the others")
	f.StringVar(&o.skusFrom, "skus-from", "", "read LicenseSkus (and existing UserLicenses) from the manifests in this directory instead of the cluster")
	f.BoolVar(&o.forceConflicts, "force-conflicts", false, "with --apply, take over fields another field manager owns with a different value")
	return cmd
}

func (e *env) runImport(cmd *cobra.Command, o *importOptions, path string) error {
	mode, err := licensecli.ParseImportMode(o.mode)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := checkOutput(o.output, "", "yaml", "json"); err != nil {
		return err
	}
	switch {
	case o.apply && o.output != "":
		return usageErrorf("use either --apply or -o %s, not both", o.output)
	case o.apply && o.skusFrom != "":
		return usageErrorf("--skus-from is for offline use; --apply reads the SKUs and users from the cluster")
	case o.forceConflicts && !o.apply:
		return usageErrorf("--force-conflicts needs --apply")
	}
	ns, err := e.namespace()
	if err != nil {
		return err
	}

	var in io.Reader
	if path == "-" {
		in = e.streams.In
		path = "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return readError(fmt.Errorf("reading the CSV file: %w", err))
		}
		defer f.Close()
		in = f
	}
	file, problems, err := licensecli.ParseCSV(in, mode == licensecli.ModeReplace)
	if err != nil {
		if errors.Is(err, licensecli.ErrInvalidCSV) {
			return fmt.Errorf("%s: %w", path, err)
		}
		return readError(fmt.Errorf("reading %s: %w", path, err))
	}

	// The namespace's SKUs and users.
	var tenant *licensecli.Tenant
	var c client.Client
	if o.skusFrom != "" {
		m, err := e.readManifests([]string{o.skusFrom}, true, ns)
		if err != nil {
			return readError(fmt.Errorf("reading --skus-from %s: %w", o.skusFrom, err))
		}
		tenant = &licensecli.Tenant{Namespace: ns}
		for _, t := range m.Tenants() {
			if t.Namespace == ns {
				tenant = t
			}
		}
		if len(tenant.SKUs) == 0 {
			return readError(fmt.Errorf("--skus-from %s holds no LicenseSku of namespace %s: point it at the tenant's manifests or pass -n", o.skusFrom, ns))
		}
	} else {
		if c, err = e.newClient(); err != nil {
			return err
		}
		if tenant, err = liveTenant(cmd, c, ns); err != nil {
			return err
		}
		if len(tenant.SKUs) == 0 {
			return fmt.Errorf("namespace %s has no LicenseSku: create the SKUs first, or pass -n (or --skus-from DIR to work offline)", ns)
		}
	}

	res := licensecli.BuildImport(licensecli.ImportInput{
		Namespace: ns, Mode: mode, SKUs: tenant.SKUs, Users: tenant.Users, File: file,
	}, problems)

	errOut := e.streams.ErrOut
	if len(file.IgnoredColumns) > 0 {
		fmt.Fprintf(errOut, "note: ignoring column(s) %s\n", strings.Join(file.IgnoredColumns, ", "))
	}
	if len(file.BlankLines) > 0 {
		fmt.Fprintf(errOut, "note: skipping empty row(s) on line(s) %s\n", joinLines(file.BlankLines))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(errOut, "note: %s\n", n)
	}
	if len(res.Problems) > 0 {
		label := "error"
		if o.skipInvalid {
			label = "skipped"
		}
		for _, p := range res.Problems {
			fmt.Fprintf(errOut, "%s: %s\n", label, p)
		}
		if !o.skipInvalid {
			return &exitError{code: exitFailure, err: fmt.Errorf("%s: %d invalid row(s): nothing was imported; correct them, or re-run with --skip-invalid to import the other rows",
				path, len(res.Problems))}
		}
	}
	if len(res.Users) == 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("%s: no valid row left to import", path)}
	}

	if !o.apply {
		return printUsers(e.streams.Out, o.output, res.Users)
	}
	return e.applyUsers(ctx(cmd), c, res.Users, o.forceConflicts)
}

// printUsers writes the UserLicenses as YAML documents or a JSON List,
// without status and server-set fields.
func printUsers(w io.Writer, format string, users []licensecli.UserImport) error {
	objs := make([]runtime.Object, 0, len(users))
	for _, u := range users {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(u.Object)
		if err != nil {
			return err
		}
		delete(m, "status")
		if meta, ok := m["metadata"].(map[string]any); ok {
			delete(meta, "creationTimestamp")
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	if format == "json" {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
		for _, o := range objs {
			list.Items = append(list.Items, *o.(*unstructured.Unstructured))
		}
		return (&printers.JSONPrinter{}).PrintObj(list, w)
	}
	p := &printers.YAMLPrinter{}
	for _, o := range objs {
		if err := p.PrintObj(o, w); err != nil {
			return err
		}
	}
	return nil
}

// applyUsers writes every changed user with server-side apply and then
// makes sure spec.licenses is exactly the desired list (see applyUser).
func (e *env) applyUsers(ctx context.Context, c client.Client, users []licensecli.UserImport, force bool) error {
	failed := 0
	for i := range users {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted after %d of %d user(s): %w", i, len(users), err)
		}
		u := &users[i]
		ref := "userlicense/" + u.Object.Name
		if u.Unchanged {
			fmt.Fprintf(e.streams.Out, "%s unchanged\n", ref)
			continue
		}
		verb := "configured"
		if !u.Existing {
			verb = "created"
		}
		note, err := applyUser(ctx, c, u, force)
		if err != nil {
			failed++
			hint := ""
			var conflict *applyConflictError
			if errors.As(err, &conflict) && !force {
				hint = "; re-run with --force-conflicts to take these fields over"
			}
			fmt.Fprintf(e.streams.ErrOut, "error: %s (%s, line(s) %s): %v%s\n", ref, u.Object.Spec.UserPrincipalName, joinLines(u.Lines), err, hint)
			continue
		}
		fmt.Fprintf(e.streams.Out, "%s %s: %s%s\n", ref, verb, u.Summary(), note)
	}
	if failed > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d user(s) could not be applied", failed, len(users))}
	}
	return nil
}

// applyUser server-side applies the fields the import owns. Server-side
// apply merges spec.licenses by sku and removes only entries this field
// manager owned, so when an entry another manager set must go (replace,
// remove) or a plan list that merged with another manager's differs,
// the list is then set to the desired one with a merge patch guarded by
// the resourceVersion of the apply's result.
func applyUser(ctx context.Context, c client.Client, u *licensecli.UserImport, force bool) (string, error) {
	spec := map[string]any{"userPrincipalName": u.Object.Spec.UserPrincipalName}
	if u.UsageLocation != "" {
		spec["usageLocation"] = u.UsageLocation
	}
	licenses := make([]any, 0, len(u.ApplyLicenses))
	for i := range u.ApplyLicenses {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&u.ApplyLicenses[i])
		if err != nil {
			return "", err
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
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), opts...); err != nil {
		if apierrors.IsConflict(err) {
			return "", &applyConflictError{err}
		}
		return "", err
	}

	var applied licv1.UserLicense
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &applied); err != nil {
		return "", err
	}
	want := u.Object.Spec.Licenses
	if licensecli.EqualAssignments(applied.Spec.Licenses, want) {
		return "", nil
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
			return "", err
		}
		err = c.Patch(ctx, &applied, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(fieldManager))
		if err == nil {
			return " (entries set by other field managers adjusted)", nil
		}
		if !apierrors.IsConflict(err) || attempt == 4 {
			return "", fmt.Errorf("setting spec.licenses after server-side apply: %w", err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(&applied), &applied); err != nil {
			return "", fmt.Errorf("re-reading after a conflict: %w", err)
		}
		if !licensecli.EqualAssignments(applied.Spec.Licenses, seen) {
			return "", fmt.Errorf("spec.licenses changed while importing (now %s): run the import again", formatAssignments(applied.Spec.Licenses))
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

func joinLines(lines []int) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprint(l)
	}
	return strings.Join(parts, ", ")
}
