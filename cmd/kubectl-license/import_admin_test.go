package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestImportAdminCenterExport imports a file shaped exactly like the
// Microsoft 365 admin center's Active users export (testdata/csv/
// admin-center-export.csv: its 32 columns, a byte order mark and CRLF,
// licenses as contoso:PART+contoso:PART, Unlicensed users, mixed-case
// user principal names, quoted fields with commas and quotes) without
// any edit.
func TestImportAdminCenterExport(t *testing.T) {
	csv := filepath.Join("testdata", "csv", "admin-center-export.csv")
	r := runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir, "--tenant", "contoso")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "import-admin-center.yaml", r.stdout)
	mustContain(t, r.stderr, "note: ignoring 28 column(s): Block credential, City, Country/Region,")
	if strings.Contains(r.stderr, "error") || strings.Contains(r.stderr, "skipped") {
		t.Errorf("the export must import without a single rejected row:\n%s", r.stderr)
	}

	users := decodeUsers(t, r.stdout)
	// Ann@Contoso.com is the existing ann (UPNs compare ignoring case): her
	// spelling is kept (immutable), E3 is added to her Exchange Plan 2.
	if ann := users["ann"]; ann == nil || ann.Spec.UserPrincipalName != "ann@contoso.com" ||
		strings.Join(skuNames(ann.Spec.Licenses), ",") != "exchange-p2,m365-e3" || ann.Labels["employment"] != "employee" {
		t.Errorf("ann: %+v", ann)
	}
	// A new user gets a name from the local part; two part numbers with the tenant prefix.
	if h := users["hank-hill"]; h == nil || h.Spec.UserPrincipalName != "Hank.Hill@contoso.com" || h.Spec.UsageLocation != "US" ||
		strings.Join(skuNames(h.Spec.Licenses), ",") != "exchange-p1,power-bi-pro" {
		t.Errorf("hank-hill: %+v", h)
	}
	// Unlicensed: a new user without licenses; an existing one gets the usage location.
	if ivy := users["ivy"]; ivy == nil || len(ivy.Spec.Licenses) != 0 || ivy.Spec.UsageLocation != "IE" {
		t.Errorf("ivy: %+v", ivy)
	}
	if f := users["frank"]; f == nil || f.Spec.UsageLocation != "US" || len(f.Spec.Licenses) != 0 {
		t.Errorf("frank: %+v", f)
	}
	if len(users) != 4 {
		t.Errorf("want 4 users, got %d", len(users))
	}

	// To mirror the export: --mode replace; ann keeps exactly what the export lists.
	r = runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir, "--mode", "replace")
	if r.code != 0 {
		t.Fatalf("replace: exit %d: %s", r.code, r.stderr)
	}
	users = decodeUsers(t, r.stdout)
	if got := skuNames(users["ann"].Spec.Licenses); !slices.Equal(got, []string{"m365-e3", "exchange-p2"}) {
		t.Errorf("replace: ann %+v", users["ann"].Spec)
	}

	// Another tenant's export is refused row by row with --tenant.
	r = runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir, "--tenant", "fabrikam")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("--tenant fabrikam: exit %d, stdout %q", r.code, r.stdout)
	}
	mustContain(t, r.stderr, "error: line 2: Licenses: contoso:SPE_E3 belongs to tenant contoso, not fabrikam (--tenant)",
		"error: line 3: Licenses: contoso:EXCHANGESTANDARD belongs to tenant contoso, not fabrikam",
		"2 invalid row(s): nothing was imported")
}

// TestImportBulkAssignFile imports the admin center's bulk assignment
// format (UserPrincipalName,SkuPartNumber), with UPNs in another case than
// the users' and a tenant prefix.
func TestImportBulkAssignFile(t *testing.T) {
	existing := writeFile(t, "users.yaml", `apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: hank-hill, namespace: contoso}
spec: {userPrincipalName: Hank.Hill@contoso.com, usageLocation: US}
`)
	dir := filepath.Dir(existing)
	for _, f := range []string{"licensing_v1alpha1_licensesku.yaml"} {
		writeAt(t, filepath.Join(dir, f), readFile(t, filepath.Join(samplesDir, f)))
	}
	r := runPlugin(t, nil, "", "import", filepath.Join("testdata", "csv", "bulk-assign.csv"), "-n", "contoso", "--skus-from", dir, "-o", "name")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "userlicense.licensing.licenseops.dev/hank-hill\nuserlicense.licensing.licenseops.dev/ivy\n" {
		t.Errorf("hank.hill@CONTOSO.com is the existing hank-hill, ivy is new:\n%s", r.stdout)
	}
}

// decodeUsers reads the UserLicenses of YAML output, by name.
func decodeUsers(t *testing.T, yaml string) map[string]*licv1.UserLicense {
	t.Helper()
	e := newEnv(genericiooptions.IOStreams{})
	m, err := e.readManifests(manifestSource{paths: []string{writeFile(t, "out.yaml", yaml)}}, "contoso", nil)
	if err != nil {
		t.Fatalf("the output is not valid UserLicenses: %v\n%s", err, yaml)
	}
	users := map[string]*licv1.UserLicense{}
	for _, tn := range m.Tenants() {
		for _, u := range tn.Users {
			users[u.Name] = u
		}
	}
	return users
}
