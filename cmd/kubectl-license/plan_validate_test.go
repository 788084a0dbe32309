package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/licenseops/license-operator/internal/licensecli"
)

const validSKU = `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e3, namespace: contoso}
spec:
  skuPartNumber: SPE_E3
  subscriptions: [{name: main, seats: 1}]
---
apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: ann, namespace: contoso}
spec: {userPrincipalName: ann@contoso.com, usageLocation: DE, licenses: [{sku: e3}]}
`

func TestPlanRefusesWhatTheAPIServerRefuses(t *testing.T) {
	bad := validSKU + `---
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e5, namespace: contoso}
spec:
  skuPartNumber: SPE_E5
  subscriptions: [{name: main, seats: -3, state: Paused}]
---
apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: ben, namespace: contoso}
spec: {userPrincipalName: ben@contoso.com, usagelocation: DE}
`
	f := writeFile(t, "tenant.yaml", bad)
	r := runPlugin(t, nil, "", "plan", "-f", f)
	if r.code != 0 {
		t.Fatalf("--fail-on=none never fails: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, r.stdout,
		"Refused: 2 objects the API server would refuse (kubectl apply fails on them; left out of the plan):",
		`tenant.yaml: LicenseSku.licensing.licenseops.dev "e5" is invalid: [spec.subscriptions[0].seats: Invalid value: -3: spec.subscriptions[0].seats in body should be greater than or equal to 0, spec.subscriptions[0].state: Unsupported value: "Paused": supported values: "Enabled", "Warning", "Suspended", "LockedOut", <nil>: Invalid value: null: some validation rules were not checked`,
		`tenant.yaml: UserLicense in version "v1alpha1" cannot be handled as a UserLicense: strict decoding error: unknown field "spec.usagelocation"`,
		"Planned 1 LicenseSku, 0 LicenseGroups and 1 UserLicense in 1 namespace.",
		"Result: 1 of 1 license active, 0 errors, 2 objects refused.")
	for _, failOn := range []string{"error", "waiting"} {
		if r := runPlugin(t, nil, "", "plan", "-f", f, "--fail-on="+failOn); r.code != 1 {
			t.Errorf("--fail-on=%s with refused objects: exit %d, want 1", failOn, r.code)
		}
	}
	if r := runPlugin(t, nil, validSKU, "plan", "-f", "-", "--fail-on=error"); r.code != 0 {
		t.Errorf("valid manifests from standard input: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = runPlugin(t, nil, bad, "plan", "-f", "-", "-o", "json")
	var rep licensecli.PlanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Refused != 2 || len(rep.Refused) != 2 || rep.Refused[0].Source != "standard input" ||
		!slices.Equal(rep.Refused[0].Fields, []string{"spec.subscriptions[0].seats", "spec.subscriptions[0].state"}) ||
		!slices.Equal(rep.Refused[1].Fields, []string{"spec.usagelocation"}) {
		t.Errorf("refusals: %+v", rep.Refused)
	}
}

// TestPlanInvalidCorpus: every manifest of api/v1alpha1/testdata/invalid
// (which the API server refuses, see api/v1alpha1's envtest suite and
// TestAgainstAPIServer) is refused by plan too, naming the field.
func TestPlanInvalidCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "api", "v1alpha1", "testdata", "invalid", "*.yaml"))
	if len(files) < 15 {
		t.Fatalf("corpus: %d files", len(files))
	}
	for _, f := range files {
		r := runPlugin(t, nil, "", "plan", "-f", f, "-o", "json", "--fail-on=error")
		var rep licensecli.PlanReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := expectHeader(t, f)
		if r.code != 1 || len(rep.Refused) != 1 || !slices.ContainsFunc(rep.Refused[0].Fields, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("%s: exit %d, refused %+v; want the field %s", filepath.Base(f), r.code, rep.Refused, want)
		}
	}
}

// expectHeader reads the "# expect: <field>" header of an invalid manifest.
func expectHeader(t *testing.T, path string) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if rest, ok := strings.CutPrefix(line, "# expect: "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("%s has no '# expect:' header", path)
	return ""
}

// kustomization writes a kustomize directory over copies of the samples:
// another namespace, a label on everything, and a patch buying a third
// Exchange Plan 1 seat.
func kustomization(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	for _, f := range []string{"licensing_v1alpha1_licensesku.yaml", "licensing_v1alpha1_licensegroup.yaml", "licensing_v1alpha1_userlicense.yaml"} {
		writeAt(t, filepath.Join(base, f), readFile(t, filepath.Join(samplesDir, f)))
	}
	writeAt(t, filepath.Join(base, "kustomization.yaml"), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- licensing_v1alpha1_licensesku.yaml
- licensing_v1alpha1_licensegroup.yaml
- licensing_v1alpha1_userlicense.yaml
`)
	overlay := filepath.Join(dir, "overlays", "contoso")
	writeAt(t, filepath.Join(overlay, "kustomization.yaml"), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: contoso
labels:
- pairs: {app.kubernetes.io/managed-by: argocd}
resources:
- ../../base
patches:
- target: {kind: LicenseSku, name: exchange-p1}
  patch: |-
    - op: replace
      path: /spec/subscriptions/0/seats
      value: 3
`)
	return overlay
}

func TestPlanKustomize(t *testing.T) {
	dir := kustomization(t)
	r := runPlugin(t, nil, "", "plan", "-k", dir, "--fail-on=waiting")
	if r.code != 0 {
		t.Fatalf("with the third seat nobody waits: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, r.stdout, "Planned 4 LicenseSkus, 3 LicenseGroups and 7 UserLicenses in 1 namespace.",
		"Namespace contoso:", "Result: 9 of 10 licenses active, 1 error.")
	if strings.Contains(r.stdout, "InsufficientSeats") {
		t.Errorf("the patch buys gina's seat:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"-k", dir, "-f", dir}, {"-k", dir, "-R"}} {
		if r := runPlugin(t, nil, "", append([]string{"plan"}, args...)...); r.code != 2 {
			t.Errorf("plan %v: exit %d, want 2", args, r.code)
		}
	}
	// -f on a kustomization: its files as they are, with a hint; a patch
	// file without kind is a read error that names -k.
	r = runPlugin(t, nil, "", "plan", "-f", filepath.Join(dir, "..", "..", "base"))
	mustContain(t, r.stderr, "base is a kustomization: -f reads its files as they are; -k ")
	writeAt(t, filepath.Join(dir, "seats.yaml"), "spec:\n  subscriptions: []\n")
	r = runPlugin(t, nil, "", "plan", "-f", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "Object 'Kind' is missing") || !strings.Contains(r.stderr, "contoso is a kustomization: build it with -k ") {
		t.Errorf("-f of a kustomization with a patch file: exit %d\n%s", r.code, r.stderr)
	}
	if r := runPlugin(t, nil, "", "plan", "-k", t.TempDir()); r.code != 2 || !strings.Contains(r.stderr, "kustomization") {
		t.Errorf("-k of a directory without kustomization: exit %d, %s", r.code, r.stderr)
	}
}

func TestOutputConvention(t *testing.T) {
	cluster := fakeCluster(t, false, userFixtures(t)...)

	r := runPlugin(t, cluster, "", "seats", "-n", "contoso", "-o", "name")
	if r.stdout != "licensesku.licensing.licenseops.dev/exchange-p1\nlicensesku.licensing.licenseops.dev/exchange-p2\nlicensesku.licensing.licenseops.dev/m365-e3\nlicensesku.licensing.licenseops.dev/power-bi-pro\n" {
		t.Errorf("seats -o name:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "", "seats", "-n", "contoso", "--no-headers")
	if strings.Contains(r.stdout, "PART NUMBER") || !strings.HasPrefix(r.stdout, "exchange-p1 ") {
		t.Errorf("seats --no-headers:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "", "seats", "-n", "contoso", "-o", `jsonpath={range .items[*]}{.name}={.available}{"\n"}{end}`)
	if r.stdout != "exchange-p1=0\nexchange-p2=2\nm365-e3=2\npower-bi-pro=3\n" {
		t.Errorf("seats -o jsonpath:\n%q", r.stdout)
	}
	r = runPlugin(t, cluster, "", "seats", "-n", "contoso", "-o", "go-template={{range .items}}{{.skuPartNumber}} {{end}}")
	if r.stdout != "EXCHANGESTANDARD EXCHANGEENTERPRISE SPE_E3 POWER_BI_PRO " {
		t.Errorf("seats -o go-template: %q", r.stdout)
	}
	r = runPlugin(t, cluster, "", "user", "ann@contoso.com", "-n", "contoso", "-o", "name")
	if r.stdout != "userlicense.licensing.licenseops.dev/ann\n" {
		t.Errorf("user -o name: %q", r.stdout)
	}
	r = runPlugin(t, cluster, "", "user", "ann@contoso.com", "-n", "contoso", "-o", "jsonpath={.licenses[*].sku}")
	if r.stdout != "exchange-p2 m365-e3" {
		t.Errorf("user -o jsonpath: %q", r.stdout)
	}

	r = runPlugin(t, nil, "", "plan", "-f", samplesDir, "-o", "yaml")
	var rep licensecli.PlanReport
	if err := yaml.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || rep.Summary.Errors != 2 {
		t.Errorf("plan -o yaml: exit %d, %v, %+v", r.code, err, rep.Summary)
	}
	r = runPlugin(t, nil, "", "plan", "-f", samplesDir, "-o", "jsonpath={.summary.errors}")
	if r.stdout != "2" {
		t.Errorf("plan -o jsonpath: %q", r.stdout)
	}
	r = runPlugin(t, nil, "", "plan", "-f", samplesDir, "-o", "name")
	if n := strings.Count(r.stdout, "\n"); n != 14 || !strings.Contains(r.stdout, "userlicense.licensing.licenseops.dev/gina\n") {
		t.Errorf("plan -o name: %d lines\n%s", n, r.stdout)
	}

	for _, tc := range []struct{ args []string }{
		{[]string{"version", "-o", "name"}},
		{[]string{"version", "-o", "wide"}},
		{[]string{"user", "ann@contoso.com", "-o", "wide"}},
		{[]string{"seats", "-o", "json", "--no-headers"}},
		{[]string{"plan", "-f", samplesDir, "-o", "jsonpath={.summary"}},
	} {
		if r := runPlugin(t, cluster, "", tc.args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", tc.args, r.code, r.stderr)
		}
	}

	r = runPlugin(t, nil, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "kubectl-license ") || !strings.Contains(r.stdout, "commit") {
		t.Errorf("version: %+v", r)
	}
	r = runPlugin(t, nil, "", "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["goVersion"] == "" {
		t.Errorf("version -o json: %v %q", err, r.stdout)
	}
}

func TestHolders(t *testing.T) {
	cluster := fakeCluster(t, false, userFixtures(t)...)
	r := runPlugin(t, cluster, "", "holders", "EXCHANGESTANDARD", "-n", "contoso")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "holders-exchange-p1.txt", r.stdout)
	mustContain(t, r.stderr, "exchange-p1 (EXCHANGESTANDARD): 2 of 2 usable seats assigned, 1 waiting, 0 failing")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "1   gina@contoso.com") || !strings.Contains(lines[3], "Waiting") {
		t.Errorf("two holders, then gina first in line:\n%s", r.stdout)
	}

	r = runPlugin(t, cluster, "", "holders", "m365-e3", "-n", "contoso", "-o", "json")
	var rep licensecli.HoldersReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Holders) != 3 || len(rep.Failing) != 1 || rep.Failing[0].UserPrincipalName != "frank@contoso.com" ||
		rep.Failing[0].Reason != "UsageLocationRequired" {
		t.Errorf("m365-e3: %+v", rep)
	}
	r = runPlugin(t, cluster, "", "holders", "contoso:spe_e3", "-n", "contoso", "-o", "name", "--no-headers")
	if r.code != 2 {
		t.Errorf("--no-headers with -o name: exit %d", r.code)
	}
	r = runPlugin(t, cluster, "", "holders", "contoso:spe_e3", "-n", "contoso", "-o", "name")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 4 {
		t.Errorf("a part number with tenant prefix, any case: %+v", r)
	}
	r = runPlugin(t, cluster, "", "holders", "VISIO", "-n", "contoso")
	if r.code != 1 || !strings.Contains(r.stderr, "no LicenseSku in namespace contoso is named VISIO or has part number VISIO (known: exchange-p1 (EXCHANGESTANDARD)") {
		t.Errorf("unknown SKU: %+v", r)
	}
}

func TestCompletion(t *testing.T) {
	cluster := fakeCluster(t, false, userFixtures(t)...)
	r := runPlugin(t, cluster, "", "__complete", "")
	for _, c := range []string{"assign", "holders", "import", "plan", "seats", "unassign", "user", "version"} {
		if !strings.Contains(r.stdout, "\n"+c+"\t") && !strings.HasPrefix(r.stdout, c+"\t") {
			t.Errorf("commands: %s missing:\n%s", c, r.stdout)
		}
	}
	r = runPlugin(t, cluster, "", "__complete", "holders", "-n", "contoso", "exch")
	if !strings.HasPrefix(r.stdout, "exchange-p1\tEXCHANGESTANDARD Exchange Online (Plan 1)\nexchange-p2\t") {
		t.Errorf("SKUs:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "", "__complete", "assign", "-n", "contoso", "G")
	if !strings.HasPrefix(r.stdout, "gina@contoso.com\n:4") {
		t.Errorf("user principal names, any case:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "", "__complete", "plan", "--fail-on", "")
	if !strings.HasPrefix(r.stdout, "none\nerror\nwaiting\n") {
		t.Errorf("--fail-on:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "", "__complete", "seats", "-o", "")
	if !strings.Contains(r.stdout, "jsonpath\n") || !strings.Contains(r.stdout, "wide\n") {
		t.Errorf("-o:\n%s", r.stdout)
	}

	r = runPlugin(t, nil, "", "completion", "kubectl")
	script, _ := os.ReadFile("kubectl_complete-license")
	if r.code != 0 || r.stdout != string(script) || !strings.Contains(r.stdout, "exec kubectl-license __complete \"$@\"") {
		t.Errorf("completion kubectl: %+v", r)
	}
	if st, err := os.Stat("kubectl_complete-license"); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("kubectl_complete-license must be executable: %v", err)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := runPlugin(t, nil, "", "completion", sh); r.code != 0 || !strings.Contains(r.stdout, "kubectl-license") {
			t.Errorf("completion %s: exit %d", sh, r.code)
		}
	}
}
