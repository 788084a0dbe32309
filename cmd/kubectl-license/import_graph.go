package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/licenseops/license-operator/internal/graph"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// graphImportOptions are the flags of `import --from-graph`.
type graphImportOptions struct {
	fromGraph          bool
	tenantID, clientID string
	clientSecretEnv    string
	certificate        string
	federatedTokenFile string
	graphEndpoint      string
	authorityHost      string
}

// graphHTTPClient carries Graph and token requests (tests set the test
// server's client).
var graphHTTPClient *http.Client

func addGraphImportFlags(f *pflag.FlagSet, o *graphImportOptions) {
	f.BoolVar(&o.fromGraph, "from-graph", false, "read the licenses of a Microsoft Entra tenant through Microsoft Graph and print LicenseSkus, LicenseGroups and UserLicenses for a GitOps repository (no FILE)")
	f.StringVar(&o.tenantID, "tenant-id", os.Getenv("AZURE_TENANT_ID"), "with --from-graph: the Entra tenant ID or primary domain (default $AZURE_TENANT_ID)")
	f.StringVar(&o.clientID, "client-id", os.Getenv("AZURE_CLIENT_ID"), "with --from-graph: the app registration's client ID (default $AZURE_CLIENT_ID); without it, the Azure CLI's sign-in (az login) is used")
	f.StringVar(&o.clientSecretEnv, "client-secret-env", "AZURE_CLIENT_SECRET", "with --from-graph and --client-id: the environment variable holding the client secret")
	f.StringVar(&o.certificate, "certificate", "", "with --from-graph and --client-id: a PEM file with the app's certificate and private key (instead of a secret)")
	f.StringVar(&o.federatedTokenFile, "federated-token-file", os.Getenv("AZURE_FEDERATED_TOKEN_FILE"), "with --from-graph and --client-id: a file holding a federated token (workload identity; default $AZURE_FEDERATED_TOKEN_FILE)")
	f.StringVar(&o.graphEndpoint, "graph-endpoint", graph.DefaultEndpoint, "with --from-graph: the Microsoft Graph host (national clouds: https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn)")
	f.StringVar(&o.authorityHost, "authority-host", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "with --from-graph: the Entra sign-in host")
}

// graphImportHelp is appended to the import command's help.
const graphImportHelp = `

With --from-graph (and no FILE) the command reads a Microsoft Entra tenant
through Microsoft Graph instead, for onboarding it into a GitOps
repository: one LicenseSku per subscribed SKU (prepaid units by state as
subscriptions), one LicenseGroup per group with licenses (its direct user
members), and one UserLicense per user with direct licenses or in such a
group. Sign-in: an app registration (--client-id with a secret in
$AZURE_CLIENT_SECRET, --certificate or --federated-token-file) or, without
--client-id, the Azure CLI's (az login). It needs Organization.Read.All (or
LicenseAssignment.Read.All), User.Read.All and GroupMember.Read.All. Graph
does not expose service plan conflicts, dependencies or location limits:
the output says so; add them by hand. Whatever cannot be mapped is listed
on standard error and in the output; the exit status is then 1 unless
--skip-invalid. See docs/microsoft-graph.md.`

func (e *env) runGraphImport(cmd *cobra.Command, o graphImportOptions, out *outputFlags, skipInvalid, apply bool) error {
	if apply {
		return usageErrorf("--from-graph prints manifests for a GitOps repository; --apply and --dry-run are for CSV files: commit the output, or kubectl apply it")
	}
	if err := out.validate(); err != nil {
		return err
	}
	if o.tenantID == "" {
		return usageErrorf("--from-graph needs --tenant-id (or $AZURE_TENANT_ID)")
	}
	ns, err := e.namespace()
	if err != nil {
		return err
	}
	cred, err := graphCredential(o)
	if err != nil {
		return err
	}
	errOut := e.streams.ErrOut
	c, err := graph.New(o.graphEndpoint, cred, graph.Options{
		HTTPClient: graphHTTPClient,
		OnResponse: func(op string, status int) {
			if status == http.StatusTooManyRequests {
				fmt.Fprintf(errOut, "note: Microsoft Graph throttled a %s request; waiting as it asks (Retry-After)\n", op)
			}
		},
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	tenant, err := licensecli.ReadGraphTenant(ctx(cmd), c)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	res := licensecli.BuildGraphImport(ns, tenant)

	for _, n := range res.Notes {
		fmt.Fprintf(errOut, "note: %s\n", n)
	}
	label := "error"
	if skipInvalid {
		label = "skipped"
	}
	for _, p := range res.Problems {
		fmt.Fprintf(errOut, "%s: %s\n", label, p)
	}
	switch out.format() {
	case "yaml", "json":
		if err := printGraphImport(e.streams.Out, out.format(), o.tenantID, res); err != nil {
			return err
		}
	default: // -o name, jsonpath, go-template: the objects, without the comments
		var objs []runtime.Object
		for _, obj := range res.Objects() {
			objs = append(objs, obj)
		}
		if err := out.printObjects(e.streams.Out, objs); err != nil {
			return err
		}
	}
	fmt.Fprintf(errOut, "imported %d LicenseSkus, %d LicenseGroups, %d UserLicenses into namespace %s\n", len(res.SKUs), len(res.Groups), len(res.Users), ns)
	if len(res.Problems) > 0 && !skipInvalid {
		return &exitError{code: exitFailure, err: fmt.Errorf("%d part(s) of the tenant could not be mapped (listed above and in the output): review them, or re-run with --skip-invalid", len(res.Problems))}
	}
	return nil
}

// graphCredential picks the credential of the flags.
func graphCredential(o graphImportOptions) (azcore.TokenCredential, error) {
	if o.clientID == "" {
		cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: o.tenantID})
		if err != nil {
			return nil, usageErrorf("signing in with the Azure CLI: %v", err)
		}
		return cred, nil
	}
	cfg := graph.CredentialConfig{TenantID: o.tenantID, ClientID: o.clientID, AuthorityHost: o.authorityHost, HTTPClient: graphHTTPClient}
	switch {
	case o.certificate != "":
		pem, err := os.ReadFile(o.certificate)
		if err != nil {
			return nil, readError(fmt.Errorf("reading --certificate: %w", err))
		}
		cfg.CertificatePEM = pem
	case o.federatedTokenFile != "" && os.Getenv(o.clientSecretEnv) == "":
		file := o.federatedTokenFile
		cfg.Assertion = func(context.Context) (string, error) {
			b, err := os.ReadFile(file)
			return strings.TrimSpace(string(b)), err
		}
	default:
		cfg.ClientSecret = os.Getenv(o.clientSecretEnv)
		if cfg.ClientSecret == "" {
			return nil, usageErrorf("--client-id needs a credential: the client secret in $%s, --certificate or --federated-token-file", o.clientSecretEnv)
		}
	}
	cred, err := graph.NewCredential(cfg)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return cred, nil
}

// printGraphImport writes the manifests, preceded by comments on what
// Graph does not tell and what could not be mapped (YAML), or as a List (JSON).
func printGraphImport(w io.Writer, format, tenant string, res *licensecli.GraphImportResult) error {
	var objs []*unstructured.Unstructured
	for _, o := range res.Objects() {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
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
			list.Items = append(list.Items, *o)
		}
		return (&printers.JSONPrinter{}).PrintObj(list, w)
	}
	fmt.Fprintf(w, "# Imported from Microsoft Entra tenant %s through Microsoft Graph (kubectl license import --from-graph).\n", tenant)
	for _, line := range wrap(licensecli.GraphLimitsNote, 76) {
		fmt.Fprintf(w, "# %s\n", line)
	}
	if len(res.Problems) > 0 {
		fmt.Fprintf(w, "# Not imported (%d):\n", len(res.Problems))
		for _, p := range res.Problems {
			fmt.Fprintf(w, "# - %s\n", p)
		}
	}
	p := &printers.YAMLPrinter{}
	for _, o := range objs {
		if err := p.PrintObj(o, w); err != nil {
			return err
		}
	}
	return nil
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
