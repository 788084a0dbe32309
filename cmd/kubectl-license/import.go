package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/licenseops/license-operator/internal/licensecli"
)

// --dry-run values, as kubectl's.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

// defaultConcurrency is how many users import --apply writes at once.
const defaultConcurrency = 16

type importOptions struct {
	mode           string
	apply          bool
	dryRun         string
	skipInvalid    bool
	skusFrom       string
	forceConflicts bool
	tenant         string
	concurrency    int
	out            *outputFlags
	graph          graphImportOptions // --from-graph (import_graph.go)
}

func newImportCommand(e *env) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import (FILE.csv | --from-graph --tenant-id ID) [-n NAMESPACE] [--mode add|replace|remove] [--apply [--dry-run=server] [--concurrency N]] [--skip-invalid] [--tenant NAME] [-o yaml|json|name|...]",
		Short: "Bulk-assign licenses from the admin center's CSV export, or onboard a tenant from Microsoft Graph (--from-graph)",
		Long: `Read a CSV file naming, per row, a user and licenses, as the Microsoft 365
admin center writes them:

  - its Active users export ("Export users"): columns "User principal name",
    "Display name", "Usage location", "Licenses" (and some thirty others,
    ignored), licenses written as contoso:SPE_E3+contoso:POWER_BI_PRO or
    Unlicensed;
  - bulk assignment files: UserPrincipalName,SkuPartNumber (one part number,
    or several separated by ';' or '+'), optionally UsageLocation and
    DisabledPlans.

Header names are matched ignoring case and spaces ("User principal name",
UserPrincipalName, UPN; Licenses, SkuPartNumber, AccountSkuId; "Usage
location"; DisabledPlans; "Display name"); other columns are ignored. A
license's tenant prefix (contoso:) is dropped, or checked with --tenant.
User principal names compare ignoring case, as in Microsoft Entra. A UTF-8
byte order mark, CRLF line ends and quoted fields are fine; a user may have
several rows.

Part numbers are resolved to the LicenseSkus of the namespace (from the
cluster, or from manifests with --skus-from DIR for offline use; UserLicenses
found there count as existing users). --mode applies the rows to each user's
direct licenses: add merges them (default), replace sets exactly them (to
mirror an export: Unlicensed users lose their direct licenses), remove drops
them. With a DisabledPlans column each row's value replaces the plans of the
SKUs it names; without it a SKU the user already has keeps its plans.

Without --apply the resulting UserLicenses are printed (YAML by default) for a
GitOps repository: existing users with their updated spec, new users named
after the local part of their UPN (DNS-safe, made unique). With --apply they
are written with server-side apply (field manager kubectl-license),
--concurrency at a time (a progress bar on a terminal, a line per 10%
otherwise, and a summary: created, changed, unchanged, failed). Users whose
licenses already match are not written, so running the same import again
after a failure or Ctrl-C applies only what is left. --dry-run=server sends
every write as a dry run (the API server validates and reports, nothing is
stored); --dry-run=client contacts the cluster only to read.

Every invalid row is reported with its line number. If any row is invalid,
nothing is printed or applied and the exit status is 1, unless --skip-invalid:
then invalid rows are reported on standard error and skipped (with --mode
replace, a user with an invalid row is skipped entirely).`,
		Example: `  # The admin center's export, as downloaded: preview, then apply
  kubectl license import users.csv -n contoso --mode replace --tenant contoso --dry-run=server
  kubectl license import users.csv -n contoso --mode replace --tenant contoso --apply

  # A bulk assignment file:
  #   UserPrincipalName,SkuPartNumber,UsageLocation,DisabledPlans
  #   ann@contoso.com,SPE_E3;POWER_BI_PRO,DE,SWAY
  kubectl license import users.csv -n contoso > tenants/contoso/users.yaml
  kubectl license import users.csv -n contoso --skus-from tenants/contoso`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.graph.fromGraph {
				return noArgs(cmd, args)
			}
			return exactArgs(1, "one CSV file (- for standard input), or --from-graph")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.graph.fromGraph {
				return e.runGraphImport(cmd, o.graph, o.out, o.skipInvalid, o.apply || o.dryRun != dryRunNone)
			}
			return e.runImport(cmd, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.mode, "mode", string(licensecli.ModeAdd), "what the rows do to each user's direct licenses: add, replace or remove")
	f.BoolVar(&o.apply, "apply", false, "write the UserLicenses to the cluster with server-side apply instead of printing them")
	f.StringVar(&o.dryRun, "dry-run", dryRunNone, `with "server", send every write as a server-side dry run (implies --apply); with "client", show what --apply would do without writing`)
	f.Lookup("dry-run").NoOptDefVal = dryRunClient
	f.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "with --apply, how many users are written at once (1-256)")
	f.BoolVar(&o.skipInvalid, "skip-invalid", false, "report invalid rows on standard error and import the others")
	f.StringVar(&o.skusFrom, "skus-from", "", "read LicenseSkus (and existing UserLicenses) from the manifests in this directory instead of the cluster")
	f.BoolVar(&o.forceConflicts, "force-conflicts", false, "with --apply, take over fields another field manager owns with a different value")
	f.StringVar(&o.tenant, "tenant", "", "the tenant the file's licenses must belong to (contoso for contoso:SPE_E3): rows of another tenant are invalid")
	o.out = addOutputFlags(cmd, false)
	o.out.defaultFormat = "yaml"
	o.out.setUsage(cmd)
	addGraphImportFlags(f, &o.graph)
	cmd.Long += graphImportHelp
	return cmd
}

// importSource returns the source of the rows: the CSV file path ("-"
// for standard input). A second source (a directory API) plugs in here.
func (e *env) importSource(path string, opts licensecli.CSVOptions) (licensecli.ImportSource, func(), error) {
	if path == "-" {
		return &licensecli.CSVSource{Name: "standard input", Reader: e.streams.In, Options: opts}, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, readError(fmt.Errorf("reading the CSV file: %w", err))
	}
	return &licensecli.CSVSource{Name: path, Reader: f, Options: opts}, func() { f.Close() }, nil
}

func (e *env) runImport(cmd *cobra.Command, o *importOptions, path string) error {
	mode, err := licensecli.ParseImportMode(o.mode)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := o.out.validate(); err != nil {
		return err
	}
	switch o.dryRun {
	case dryRunNone, dryRunClient:
	case dryRunServer:
		o.apply = true
	default:
		return usageErrorf(`--dry-run %q is not one of none, client, server`, o.dryRun)
	}
	writes := o.apply || o.dryRun == dryRunClient
	if writes && !cmd.Flags().Changed("output") && !cmd.Flags().Changed("template") {
		// Applying reports a line per user (as kubectl apply); -o prints
		// the written objects instead.
		o.out.defaultFormat = outputDefault
	}
	switch {
	case writes && o.skusFrom != "":
		return usageErrorf("--skus-from is for offline use; --apply and --dry-run read the SKUs and users from the cluster")
	case o.forceConflicts && !o.apply:
		return usageErrorf("--force-conflicts needs --apply")
	case o.concurrency < 1 || o.concurrency > 256:
		return usageErrorf("--concurrency %d is out of range: use 1 to 256", o.concurrency)
	}
	ns, err := e.namespace()
	if err != nil {
		return err
	}

	src, closeSrc, err := e.importSource(path, licensecli.CSVOptions{AllowEmptySku: mode == licensecli.ModeReplace, Tenant: o.tenant})
	if err != nil {
		return err
	}
	defer closeSrc()
	rows, problems, err := src.Rows(ctx(cmd))
	if err != nil {
		if errors.Is(err, licensecli.ErrInvalidCSV) {
			return fmt.Errorf("%s: %w", src.Describe(), err)
		}
		return readError(fmt.Errorf("reading %s: %w", src.Describe(), err))
	}

	// The namespace's SKUs and users.
	var tenant *licensecli.Tenant
	var c client.Client
	if o.skusFrom != "" {
		m, err := e.readManifests(manifestSource{paths: []string{o.skusFrom}, recursive: true}, ns, nil)
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
		if tenant, err = liveTenant(ctx(cmd), c, ns); err != nil {
			return err
		}
		if len(tenant.SKUs) == 0 {
			return fmt.Errorf("namespace %s has no LicenseSku: create the SKUs first, or pass -n (or --skus-from DIR to work offline)", ns)
		}
	}

	res := licensecli.BuildImport(licensecli.ImportInput{
		Namespace: ns, Mode: mode, SKUs: tenant.SKUs, Users: tenant.Users, File: rows,
	}, problems)

	errOut := e.streams.ErrOut
	if n := len(rows.IgnoredColumns); n > 0 {
		fmt.Fprintf(errOut, "note: ignoring %d column(s): %s\n", n, strings.Join(rows.IgnoredColumns, ", "))
	}
	if len(rows.Tenants) > 1 && o.tenant == "" {
		fmt.Fprintf(errOut, "note: the licenses belong to several tenants (%s): pass --tenant to import one tenant's rows only\n", strings.Join(rows.Tenants, ", "))
	}
	if len(rows.BlankLines) > 0 {
		fmt.Fprintf(errOut, "note: skipping empty row(s) on line(s) %s\n", joinLines(rows.BlankLines))
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
				src.Describe(), len(res.Problems))}
		}
	}
	if len(res.Users) == 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("%s: no valid row left to import", src.Describe())}
	}

	if !writes {
		objs := make([]runtime.Object, 0, len(res.Users))
		for _, u := range res.Users {
			objs = append(objs, gitOpsObject(u.Object))
		}
		return o.out.printObjects(e.streams.Out, objs)
	}
	live := map[string]runtime.Object{}
	for _, u := range tenant.Users {
		live[u.Name] = u
	}
	return e.applyUsers(ctx(cmd), c, res.Users, live, applyOptions{
		force: o.forceConflicts, dryRun: o.dryRun, concurrency: o.concurrency, out: o.out,
	})
}

// gitOpsObject is a UserLicense without status and server-set fields, as
// it belongs in a GitOps repository.
func gitOpsObject(u runtime.Object) runtime.Object {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(u)
	if err != nil {
		return u
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}
}

func joinLines(lines []int) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = fmt.Sprint(l)
	}
	return strings.Join(parts, ", ")
}
