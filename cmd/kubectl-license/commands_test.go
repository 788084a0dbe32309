package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// samplesDir is the repository's config/samples: the contoso tenant.
var samplesDir = filepath.Join("..", "..", "config", "samples")

// liveSamples returns the samples as the controller leaves them: planned
// an hour before testNow, with UIDs and generation 1.
func liveSamples(t *testing.T) []client.Object {
	t.Helper()
	e := newEnv(genericiooptions.IOStreams{})
	m, err := e.readManifests(manifestSource{paths: []string{samplesDir}}, "contoso", nil)
	if err != nil {
		t.Fatal(err)
	}
	tenant := m.Tenants()[0]
	var objs []client.Object
	for _, s := range tenant.SKUs {
		s.Generation, s.UID = 1, types.UID("uid-sku-"+s.Name)
	}
	for _, g := range tenant.Groups {
		g.Generation, g.UID = 1, types.UID("uid-group-"+g.Name)
	}
	for _, u := range tenant.Users {
		u.Generation, u.UID = 1, types.UID("uid-user-"+u.Name)
	}
	res := licensecli.PlanTenant(tenant, testNow.Add(-time.Hour))
	for i, s := range tenant.SKUs {
		s.Status = *res.SKUs[i].Status.DeepCopy()
		objs = append(objs, s)
	}
	for i, g := range tenant.Groups {
		g.Status = *res.Groups[i].Status.DeepCopy()
		objs = append(objs, g)
	}
	for i, u := range tenant.Users {
		u.Status = *res.Users[i].Status.DeepCopy()
		objs = append(objs, u)
	}
	return objs
}

// event is an events.k8s.io/v1 Event regarding the UserLicense name.
func event(name, reason, note string, at time.Time) *eventsv1.Event {
	typ := corev1.EventTypeNormal
	if reason == "LicenseAssignmentFailed" {
		typ = corev1.EventTypeWarning
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name + "." + reason + at.Format("150405"), Namespace: "contoso"},
		EventTime:  metav1.NewMicroTime(at),
		Type:       typ,
		Reason:     reason,
		Note:       note,
		Regarding:  corev1.ObjectReference{Kind: "UserLicense", Name: name, Namespace: "contoso", UID: types.UID("uid-user-" + name)},
	}
}

// fakeCluster serves objs like an API server with the CRD's selectable
// field and the events' regarding.uid field; refuseFieldSelectors makes
// it answer field selectors with 400 Bad Request, as a server without
// selectableFields does.
func fakeCluster(t *testing.T, refuseFieldSelectors bool, objs ...client.Object) func() (client.Client, error) {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(objs...).
		WithStatusSubresource(&licv1.LicenseSku{}, &licv1.LicenseGroup{}, &licv1.UserLicense{}).
		WithIndex(&licv1.UserLicense{}, upnField, func(o client.Object) []string {
			return []string{o.(*licv1.UserLicense).Spec.UserPrincipalName}
		}).
		WithIndex(&eventsv1.Event{}, "regarding.uid", func(o client.Object) []string {
			return []string{string(o.(*eventsv1.Event).Regarding.UID)}
		})
	if refuseFieldSelectors {
		b = b.WithInterceptorFuncs(interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				lo := (&client.ListOptions{}).ApplyOptions(opts)
				if lo.FieldSelector != nil && !lo.FieldSelector.Empty() {
					return apierrors.NewBadRequest(`field label not supported: ` + lo.FieldSelector.String())
				}
				return c.List(ctx, list, opts...)
			},
		})
	}
	c := b.Build()
	return func() (client.Client, error) { return c, nil }
}

func TestPlanSamplesText(t *testing.T) {
	r := runPlugin(t, nil, "", "plan", "-f", samplesDir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	golden(t, "plan-samples.txt", r.stdout)
	mustContain(t, r.stdout,
		"Planned 4 LicenseSkus, 3 LicenseGroups and 7 UserLicenses in 1 namespace.",
		"Ignored (not licensing objects): 1 Namespace.",
		"Result: 8 of 10 licenses active, 2 errors (1 waiting for a seat).")
	// The rows are sorted and aligned: each error row starts at the same column.
	if !regexp.MustCompile(`(?m)^    frank@contoso\.com   m365-e3       UsageLocationRequired   Group/all-employees   spec\.usageLocation is not set`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^    gina@contoso\.com    exchange-p1   InsufficientSeats       Group/contractors     all 2 seats`).MatchString(r.stdout) {
		t.Errorf("error table not aligned or not sorted:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "ann@contoso.com   service plan EXCHANGE_S_ENTERPRISE (exchange-p2, m365-e3)") {
		t.Errorf("duplicate plans of ann missing:\n%s", r.stdout)
	}
}

func TestPlanSamplesJSON(t *testing.T) {
	r := runPlugin(t, nil, "", "plan", "-f", samplesDir, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "plan-samples.json", r.stdout)
	var rep licensecli.PlanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := licensecli.PlanSummary{Namespaces: 1, SKUs: 4, Groups: 3, Users: 7, Licenses: 10, Active: 8, Errors: 2, Waiting: 1}
	if rep.Summary != want {
		t.Errorf("summary %+v, want %+v", rep.Summary, want)
	}
	if len(rep.Ignored) != 1 || rep.Ignored[0] != (licensecli.KindCount{Kind: "Namespace", Count: 1}) {
		t.Errorf("ignored: %+v", rep.Ignored)
	}
}

func TestPlanFailOn(t *testing.T) {
	// The samples have one InsufficientSeats and one UsageLocationRequired.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 0},
		{[]string{"--fail-on=none"}, 0},
		{[]string{"--fail-on=error"}, 1},
		{[]string{"--fail-on=waiting"}, 1},
		{[]string{"--fail-on=sometimes"}, 2},
		{[]string{"-o", "wide"}, 2},
		{[]string{"-o", "csv"}, 2},
		{[]string{"--no-headers"}, 2},
		{[]string{"--no-such-flag"}, 2},
	} {
		r := runPlugin(t, nil, "", append([]string{"plan", "-f", samplesDir}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("plan %v: exit %d, want %d (stderr %q)", tc.args, r.code, tc.code, r.stderr)
		}
	}
	// A tenant where everybody is served never fails.
	ok := writeFile(t, "ok.yaml", `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e3}
spec:
  skuPartNumber: SPE_E3
  subscriptions: [{name: main, seats: 1}]
---
apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: ann}
spec: {userPrincipalName: ann@contoso.com, usageLocation: DE, licenses: [{sku: e3}]}
`)
	r := runPlugin(t, nil, "", "plan", "-f", ok, "--fail-on=error")
	if r.code != 0 {
		t.Errorf("a fully served tenant: exit %d\n%s", r.code, r.stdout)
	}
	// Objects without a namespace go to the kubeconfig's namespace, or -n.
	mustContain(t, r.stdout, "Namespace fallback-ns:")
	r = runPlugin(t, nil, "", "plan", "-f", ok, "-n", "fabrikam")
	mustContain(t, r.stdout, "Namespace fabrikam:")
	// Wait: with one seat and two users, --fail-on=waiting fails, error too.
	two := strings.Replace(readFile(t, ok), "seats: 1", "seats: 0", 1)
	r = runPlugin(t, nil, two, "plan", "-f", "-", "--fail-on=waiting")
	if r.code != 1 {
		t.Errorf("no seat for ann: exit %d, want 1\n%s", r.code, r.stdout)
	}
}

func TestPlanReadErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		want string
	}{
		"duplicate object": {`apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e3, namespace: contoso}
spec: {skuPartNumber: SPE_E3, subscriptions: [{name: a, seats: 1}]}
---
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e3, namespace: contoso}
spec: {skuPartNumber: SPE_E5, subscriptions: [{name: a, seats: 1}]}
`, "LicenseSku contoso/e3 is also defined in"},
		"other version": {`apiVersion: licensing.licenseops.dev/v1beta9
kind: LicenseSku
metadata: {name: e3}
spec: {}
`, "has apiVersion licensing.licenseops.dev/v1beta9"},
		"no kind": {"foo: bar\n", "Object 'Kind' is missing"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runPlugin(t, nil, "", "plan", "-f", writeFile(t, "bad.yaml", tc.yaml))
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			mustContain(t, r.stderr, tc.want, "bad.yaml")
		})
	}
	r := runPlugin(t, nil, "", "plan")
	if r.code != 2 || !strings.Contains(r.stderr, "plan needs manifests") {
		t.Errorf("plan without -f: exit %d, %q", r.code, r.stderr)
	}
}

func TestPlanRecursive(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "tenants", "contoso")
	writeAt(t, filepath.Join(sub, "sku.yaml"), `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: e3, namespace: contoso}
spec: {skuPartNumber: SPE_E3, subscriptions: [{name: a, seats: 1}]}
`)
	writeAt(t, filepath.Join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")
	writeAt(t, filepath.Join(dir, "README.md"), "not a manifest")

	r := runPlugin(t, nil, "", "plan", "-f", dir)
	mustContain(t, r.stdout, "Planned 0 LicenseSkus", "1 Kustomization.kustomize.config.k8s.io")
	mustContain(t, r.stderr, "warning: no LicenseSku, LicenseGroup or UserLicense found")
	r = runPlugin(t, nil, "", "plan", "-f", dir, "-R")
	mustContain(t, r.stdout, "Planned 1 LicenseSku, 0 LicenseGroups and 0 UserLicenses in 1 namespace.", "Namespace contoso:")
}

func TestPlanAgainstCluster(t *testing.T) {
	cluster := fakeCluster(t, false, liveSamples(t)...)
	change := filepath.Join("testdata", "change")

	r := runPlugin(t, cluster, "", "plan", "-f", change, "-n", "contoso", "--against-cluster")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "plan-change.txt", r.stdout)
	mustContain(t, r.stdout,
		"Ignored (not licensing objects): 1 ConfigMap.",
		"Changes: 2 gain a seat, 1 loses a seat, 1 starts waiting, 1 changes error",
		"visio-plan-2   ivy@contoso.com     new error ",
		"Result: 9 of 11 licenses active, 2 errors (1 waiting for a seat), 5 changes against the cluster.")

	r = runPlugin(t, cluster, "", "plan", "-f", change, "-n", "contoso", "--against-cluster", "-o", "json")
	var rep licensecli.PlanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Namespaces[0].Changes {
		got = append(got, c.SKU+" "+c.User+" "+string(c.Kind)+" "+c.Before+"->"+c.After)
	}
	want := []string{
		"exchange-p1 gina@contoso.com GainsSeat InsufficientSeats->Active",  // the new seat goes to the first in line
		"exchange-p1 hank@contoso.com StartsWaiting -->InsufficientSeats",   // the new contractor waits
		"exchange-p2 ann@contoso.com LosesSeat Active->-",                   // direct assignment dropped
		"m365-e3 frank@contoso.com GainsSeat UsageLocationRequired->Active", // usage location set
		"visio-plan-2 ivy@contoso.com ReasonChanged -->SkuNotFound",         // SKU not bought
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var seatChanges []string
	for _, s := range rep.Namespaces[0].SeatChanges {
		seatChanges = append(seatChanges, s.SKU)
	}
	if strings.Join(seatChanges, ",") != "exchange-p1,exchange-p2,m365-e3" {
		t.Errorf("seat changes: %v", seatChanges)
	}

	// The live samples against themselves: nothing changes.
	r = runPlugin(t, cluster, "", "plan", "-f", samplesDir, "--against-cluster", "--fail-on=none")
	mustContain(t, r.stdout, "Changes: none", ", 0 changes against the cluster.")

	// A changed userPrincipalName is a warning: the API server refuses it.
	upn := writeFile(t, "upn.yaml", `apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: ben, namespace: contoso, labels: {employment: employee}}
spec: {userPrincipalName: benjamin@contoso.com, usageLocation: US}
`)
	r = runPlugin(t, cluster, "", "plan", "-f", upn, "--against-cluster")
	mustContain(t, r.stdout, "WARNING: UserLicense ben changes spec.userPrincipalName from ben@contoso.com to benjamin@contoso.com")
}

func TestSeats(t *testing.T) {
	cluster := fakeCluster(t, false, liveSamples(t)...)
	r := runPlugin(t, cluster, "", "seats", "-n", "contoso")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "seats.txt", r.stdout)
	if !regexp.MustCompile(`(?m)^m365-e3 +SPE_E3 +Microsoft 365 E3 +10 +5 +3 +2 +4 +0 +OK$`).MatchString(r.stdout) {
		t.Errorf("m365-e3: total 10 (a suspended trial), usable 5, 3 assigned:\n%s", r.stdout)
	}

	r = runPlugin(t, cluster, "", "seats", "-n", "contoso", "-o", "wide")
	golden(t, "seats-wide.txt", r.stdout)
	mustContain(t, r.stdout, "contract-2026=5,trial-2026=5(Suspended)", "contract-2026=5(Warning)", "1 user waits for a seat of EXCHANGESTANDARD")

	r = runPlugin(t, cluster, "", "seats", "-A")
	mustContain(t, r.stdout, "NAMESPACE   NAME ")

	r = runPlugin(t, cluster, "", "seats", "-n", "contoso", "-o", "yaml")
	mustContain(t, r.stdout, "items:\n- assigned: 2\n", "state: InsufficientSeats")

	r = runPlugin(t, cluster, "", "seats", "-n", "empty")
	if r.code != 0 || r.stdout != "" || r.stderr != "No LicenseSkus found in namespace empty.\n" {
		t.Errorf("empty namespace: %+v", r)
	}
	r = runPlugin(t, cluster, "", "seats", "-o", "csv")
	if r.code != 2 {
		t.Errorf("-o csv: exit %d, want 2", r.code)
	}

	// A SKU the controller has not processed yet is Pending.
	fresh := &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "t", Generation: 1},
		Spec: licv1.LicenseSkuSpec{SkuPartNumber: "NEW", Subscriptions: []licv1.Subscription{{Name: "a", Seats: 3}}}}
	r = runPlugin(t, fakeCluster(t, false, fresh), "", "seats", "-n", "t")
	if !regexp.MustCompile(`(?m)^new +NEW +- +3 +3 +0 +0 +0 +0 +Pending$`).MatchString(r.stdout) {
		t.Errorf("fresh SKU:\n%s", r.stdout)
	}
}

func userFixtures(t *testing.T) []client.Object {
	objs := liveSamples(t)
	base := testNow.Add(-time.Hour)
	return append(objs,
		event("gina", "LicenseAssignmentFailed", "license exchange-p1 failed: InsufficientSeats: all 2 seats of EXCHANGESTANDARD are assigned", base.Add(2*time.Second)),
		event("ann", "LicenseAssigned", "license m365-e3 (SPE_E3) assigned by Group/all-employees", base.Add(time.Second)),
		event("ann", "LicenseAssigned", "license exchange-p2 (EXCHANGEENTERPRISE) assigned by Direct", base),
		event("ben", "LicenseAssigned", "license m365-e3 (SPE_E3) assigned by Group/all-employees", base),
	)
}

func TestUser(t *testing.T) {
	cluster := fakeCluster(t, false, userFixtures(t)...)
	r := runPlugin(t, cluster, "", "user", "ann@contoso.com", "-n", "contoso")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "user-ann.txt", r.stdout)
	mustContainFields(t, r.stdout,
		"Groups: all-employees",
		"Duplicate plans: service plan EXCHANGE_S_ENTERPRISE (exchange-p2, m365-e3)",
		"Disabled plans: SWAY", // the group disables SWAY
	)
	// History: ann's two events only, oldest first.
	i, j := strings.Index(r.stdout, "exchange-p2 (EXCHANGEENTERPRISE) assigned by Direct"), strings.Index(r.stdout, "m365-e3 (SPE_E3) assigned by Group/all-employees")
	if i < 0 || j < 0 || i > j || strings.Contains(r.stdout, "exchange-p1 failed") {
		t.Errorf("events not ann's or not sorted by time:\n%s", r.stdout)
	}

	r = runPlugin(t, cluster, "", "user", "gina@contoso.com", "-n", "contoso", "-o", "json")
	var rep licensecli.UserReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	l := rep.Licenses[0]
	if l.SKU != "exchange-p1" || l.Reason != "InsufficientSeats" || l.WaitingSince == nil ||
		!l.WaitingSince.Time.Equal(testNow.Add(-time.Hour)) || len(rep.Events) != 1 {
		t.Errorf("gina: %+v", rep)
	}
	r = runPlugin(t, cluster, "", "user", "gina@contoso.com", "-n", "contoso")
	golden(t, "user-gina.txt", r.stdout)
	mustContainFields(t, r.stdout, "Waiting since: 2026-06-01T11:00:00Z (60m)")

	r = runPlugin(t, cluster, "", "user", "frank@contoso.com", "-n", "contoso")
	mustContainFields(t, r.stdout, "Usage location: (not set: no license can take effect)", "Error: UsageLocationRequired: spec.usageLocation is not set")

	r = runPlugin(t, cluster, "", "user", "nobody@contoso.com", "-n", "contoso")
	if r.code != 1 || !strings.Contains(r.stderr, "no UserLicense with spec.userPrincipalName=nobody@contoso.com in namespace contoso (use -A") {
		t.Errorf("unknown user: %+v", r)
	}
	r = runPlugin(t, cluster, "", "user", "ann@contoso.com", "-A")
	mustContainFields(t, r.stdout, "UserLicense: contoso/ann")
	r = runPlugin(t, cluster, "", "user", "-n", "contoso")
	if r.code != 2 {
		t.Errorf("user without UPN: exit %d, want 2", r.code)
	}
}

func TestUserWithoutFieldSelectors(t *testing.T) {
	// The same answers from a server that refuses field selectors, and
	// a UPN typed in another case.
	cluster := fakeCluster(t, true, userFixtures(t)...)
	r := runPlugin(t, cluster, "", "user", "Ann@Contoso.COM", "-n", "contoso")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "user-ann.txt", r.stdout)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := osReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestImportYAMLOffline(t *testing.T) {
	csv := filepath.Join("testdata", "csv", "users.csv")
	r := runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "import-users.yaml", r.stdout)
	// The extra column (with quoted commas) is ignored and said so.
	// Display Name is a known column (the admin center's); nothing is ignored.
	if strings.Contains(r.stderr, "ignoring") {
		t.Errorf("no column is ignored: %s", r.stderr)
	}
	// Parse what we print: it must be valid UserLicenses.
	m := licensecli.NewManifests("contoso")
	docs := strings.Split(r.stdout, "\n---\n")
	if len(docs) != 4 {
		t.Fatalf("want 4 UserLicenses (ann, hank, hank-fabrikam, ben), got %d:\n%s", len(docs), r.stdout)
	}
	e := newEnv(genericiooptions.IOStreams{})
	mm, err := e.readManifests(manifestSource{paths: []string{writeFile(t, "out.yaml", r.stdout)}}, "contoso", nil)
	if err != nil {
		t.Fatalf("the output is not valid UserLicenses: %v", err)
	}
	_ = m
	users := map[string]*licv1.UserLicense{}
	for _, u := range mm.Tenants()[0].Users {
		users[u.Name] = u
	}
	ann := users["ann"]
	if ann == nil || len(ann.Spec.Licenses) != 2 || ann.Spec.Licenses[0].SKU != "exchange-p2" || ann.Spec.Licenses[1].SKU != "power-bi-pro" ||
		ann.Spec.UsageLocation != "DE" || ann.Labels["employment"] != "employee" {
		t.Errorf("ann (existing in --skus-from): add keeps exchange-p2, labels and location: %+v", ann)
	}
	hank := users["hank"]
	if hank == nil || hank.Spec.UserPrincipalName != "hank@contoso.com" || hank.Spec.UsageLocation != "AT" ||
		len(hank.Spec.Licenses) != 2 || strings.Join(hank.Spec.Licenses[0].DisabledPlans, ",") != "SWAY,TEAMS1" ||
		hank.Spec.Licenses[1].DisabledPlans != nil {
		t.Errorf("hank: new, DE→AT upper-cased, SWAY and TEAMS1 disabled on E3 only (Power BI has neither): %+v", hank)
	}
	if f := users["hank-fabrikam"]; f == nil || f.Spec.UserPrincipalName != "hank@fabrikam.com" {
		t.Errorf("the second hank gets a unique name: %v", users)
	}
	if strings.Contains(r.stdout, "status") || strings.Contains(r.stdout, "creationTimestamp") {
		t.Errorf("GitOps output must hold no status or server fields:\n%s", r.stdout)
	}

	r = runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir, "-o", "json")
	var list struct {
		Kind  string
		Items []licv1.UserLicense
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 4 {
		t.Errorf("-o json: %v %+v", err, list)
	}
}

func TestImportBadRows(t *testing.T) {
	csv := filepath.Join("testdata", "csv", "bad.csv")
	r := runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("bad rows: exit %d, want 1 and nothing printed; stdout:\n%s", r.code, r.stdout)
	}
	golden(t, "import-bad.stderr", r.stderr)
	mustContain(t, r.stderr,
		`error: line 3: UserPrincipalName "not-an-upn" is not a valid user principal name`,
		"error: line 4: unknown SkuPartNumber VISIO: no LicenseSku in namespace contoso has it (known: EXCHANGEENTERPRISE, EXCHANGESTANDARD, POWER_BI_PRO, SPE_E3)",
		`error: line 5: UsageLocation "France" is not a two-letter ISO 3166-1 country code`,
		"error: line 7: duplicate row: line 6 already lists spe_e3 for dave@contoso.com",
		"note: skipping empty row(s) on line(s) 8",
		"4 invalid row(s): nothing was imported")

	r = runPlugin(t, nil, "", "import", csv, "-n", "contoso", "--skus-from", samplesDir, "--skip-invalid")
	if r.code != 0 {
		t.Fatalf("--skip-invalid: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, r.stderr, "skipped: line 3:", "skipped: line 4:", "skipped: line 5:", "skipped: line 7:")
	mustContain(t, r.stdout, "userPrincipalName: ann@contoso.com", "userPrincipalName: dave@contoso.com")
	if strings.Contains(r.stdout, "ben@") || strings.Contains(r.stdout, "carla@") {
		t.Errorf("skipped rows must not be imported:\n%s", r.stdout)
	}
}

func TestImportModesAndErrors(t *testing.T) {
	cluster := fakeCluster(t, false, liveSamples(t)...)
	// replace: ann keeps only E3; remove: ann loses exchange-p2.
	r := runPlugin(t, cluster, "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n", "import", "-", "-n", "contoso", "--mode", "replace")
	if r.code != 0 {
		t.Fatalf("replace: %d %s", r.code, r.stderr)
	}
	mustContain(t, r.stdout, "name: ann\n", "  licenses:\n  - sku: m365-e3\n  usageLocation: DE\n")
	if strings.Contains(r.stdout, "exchange-p2") {
		t.Errorf("replace keeps exchange-p2:\n%s", r.stdout)
	}
	r = runPlugin(t, cluster, "UserPrincipalName,SkuPartNumber\nann@contoso.com,EXCHANGEENTERPRISE\nben@contoso.com,SPE_E3\nzoe@contoso.com,SPE_E3\n", "import", "-", "-n", "contoso", "--mode", "remove")
	if r.code != 1 {
		t.Errorf("remove from a user that does not exist: exit %d, want 1", r.code)
	}
	mustContain(t, r.stderr, "line 4: no UserLicense in namespace contoso has userPrincipalName zoe@contoso.com: there is nothing to remove",
		"note: line 3: ben@contoso.com has no direct assignment of m365-e3: nothing to remove (it comes from Group/all-employees: change the group instead)")

	for _, tc := range []struct {
		name, csv string
		args      []string
		code      int
		want      string
	}{
		{"empty file", "", nil, 1, "the file is empty"},
		{"header only", "UserPrincipalName,SkuPartNumber\r\n", nil, 1, "has a header but no user rows"},
		{"missing column", "UserPrincipalName,Product\nann@contoso.com,SPE_E3\n", nil, 1, "line 1: missing column SkuPartNumber"},
		{"broken quotes", "UserPrincipalName,SkuPartNumber\nann@contoso.com,\"SPE_E3\n", nil, 1, "standard input: invalid CSV file: line 2, column 25: extraneous or missing \" in quoted-field"},
		{"bad mode", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n", []string{"--mode", "merge"}, 2, `--mode "merge" is not one of add, replace, remove`},
		{"concurrency out of range", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n", []string{"--apply", "--concurrency", "0"}, 2, "--concurrency 0 is out of range"},
		{"bad dry run", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n", []string{"--dry-run=maybe"}, 2, `--dry-run "maybe" is not one of none, client, server`},
		{"wrong tenant", "User principal name,Licenses\nann@contoso.com,fabrikam:SPE_E3\n", []string{"--tenant", "contoso"}, 1, "line 2: Licenses: fabrikam:SPE_E3 belongs to tenant fabrikam, not contoso (--tenant)"},
		{"no SKUs", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n", []string{"-n", "empty"}, 1, "namespace empty has no LicenseSku"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"import", "-", "-n", "contoso"}, tc.args...)
			r := runPlugin(t, cluster, tc.csv, args...)
			if r.code != tc.code || r.stdout != "" {
				t.Errorf("exit %d (want %d), stdout %q", r.code, tc.code, r.stdout)
			}
			mustContain(t, r.stderr, tc.want)
		})
	}
	r = runPlugin(t, nil, "", "import", "no-such.csv", "--skus-from", samplesDir)
	if r.code != 2 {
		t.Errorf("missing file: exit %d, want 2", r.code)
	}
}
