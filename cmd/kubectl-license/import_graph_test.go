package main

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/licenseops/license-operator/internal/graph/graphtest"
)

func TestImportFromGraph(t *testing.T) {
	s := graphtest.NewServer()
	defer s.Close()
	s.SetPageSize(1)
	s.AddSku("SPE_E3", 5, "EXCHANGE_S_ENTERPRISE", "SWAY")
	s.AddUser("ann@contoso.com", "DE", graphtest.License{Sku: "SPE_E3", Disabled: []string{"SWAY"}})
	s.AddUser("guest_fabrikam.com#EXT#@contoso.onmicrosoft.com", "DE", graphtest.License{Sku: "SPE_E3"})
	s.AddGroup("Sales", []graphtest.License{{Sku: "SPE_E3"}}, "ann@contoso.com")
	s.Throttle("users", 1, 2*time.Second)
	graphHTTPClient = s.Client()
	defer func() { graphHTTPClient = nil }()
	t.Setenv("AZURE_CLIENT_SECRET", s.ClientSecret)
	args := []string{"import", "--from-graph", "-n", "contoso", "--tenant-id", s.TenantID, "--client-id", s.ClientID,
		"--graph-endpoint", s.URL, "--authority-host", s.URL}

	r := runPlugin(t, nil, "", args...)
	if r.code != exitFailure {
		t.Fatalf("exit %d, want %d (a guest cannot be mapped)\n%s", r.code, exitFailure, r.stderr)
	}
	mustContain(t, r.stderr,
		"note: Microsoft Graph does not expose service plan conflicts",
		"note: Microsoft Graph throttled a users request",
		"error: user guest_fabrikam.com#EXT#@contoso.onmicrosoft.com: not a userPrincipalName",
		"imported 1 LicenseSkus, 1 LicenseGroups, 1 UserLicenses into namespace contoso",
		"re-run with --skip-invalid")
	mustContain(t, r.stdout,
		"# Imported from Microsoft Entra tenant "+s.TenantID,
		"# Microsoft Graph does not expose service plan conflicts (conflictsWith),\n# dependencies (requires) or location limits (unavailableIn)",
		"# Not imported (1):\n# - user guest_fabrikam.com#EXT#",
		"kind: LicenseSku", "kind: LicenseGroup", "kind: UserLicense")
	// The manifests parse, in order, without status or server fields.
	docs := strings.Split(r.stdout, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3:\n%s", len(docs), r.stdout)
	}
	var u map[string]any
	if err := yaml.Unmarshal([]byte(docs[2]), &u); err != nil {
		t.Fatal(err)
	}
	if _, ok := u["status"]; ok || u["kind"] != "UserLicense" {
		t.Errorf("user document: %v", u)
	}

	r = runPlugin(t, nil, "", append(args, "--skip-invalid")...)
	if r.code != 0 || !strings.Contains(r.stderr, "skipped: user guest_fabrikam.com") {
		t.Fatalf("--skip-invalid: exit %d\n%s", r.code, r.stderr)
	}
	r = runPlugin(t, nil, "", append(args, "users.csv")...)
	if r.code != exitUsage {
		t.Errorf("--from-graph with a file: exit %d, want %d", r.code, exitUsage)
	}
	// Writing is for CSV files: --dry-run=server would otherwise be ignored
	// (it implies --apply) and the import would go on to read Graph.
	for _, write := range []string{"--apply", "--dry-run=server", "--dry-run=client"} {
		r = runPlugin(t, nil, "", append(args, write)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--apply and --dry-run are for CSV files") {
			t.Errorf("--from-graph %s: exit %d, want %d\n%s", write, r.code, exitUsage, r.stderr)
		}
	}
	r = runPlugin(t, nil, "", "import", "--from-graph", "--client-id", s.ClientID, "--tenant-id", "")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--tenant-id") {
		t.Errorf("without a tenant: exit %d\n%s", r.code, r.stderr)
	}
}
