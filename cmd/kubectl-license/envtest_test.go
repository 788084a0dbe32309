package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/internal/licensecli"
	"github.com/licenseops/license-operator/test/envtestutil"
)

// TestAgainstAPIServer runs the plugin against a real kube-apiserver with
// the real tenant controller: plan of config/samples must agree with what
// the controller writes for the same objects, `plan --against-cluster`
// must then find nothing to change, and `import --apply` followed by
// `seats` and `user` must show what the controller made of the import.
func TestAgainstAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("envtest suite: skipped with -short")
	}
	start := time.Now()
	log.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	testEnv, err := envtestutil.NewEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := testEnv.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := testEnv.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, ctx, cfg)

	// The plugin connects through a kubeconfig file, as a person's kubectl does.
	admin, err := testEnv.AddUser(envtest.User{Name: "plugin-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := writeFile(t, "kubeconfig", string(kc))
	requests := &requestLog{}
	pluginClient := func() (client.Client, error) {
		e := newEnv(genericStreams())
		*e.flags.KubeConfig = kubeconfig
		c, err := e.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		c.WrapTransport = requests.wrap
		return client.New(c, client.Options{Scheme: scheme})
	}
	plugin := func(args ...string) result {
		return runPlugin(t, pluginClient, "", append(args, "--kubeconfig", kubeconfig)...)
	}

	samples := filepath.Join(repoRoot(t), "config", "samples")
	createSamples(t, ctx, k8s, samples)
	const ns = "contoso"
	waitConverged(t, ctx, k8s, ns)
	t.Logf("samples converged after %v", time.Since(start).Round(time.Millisecond))

	t.Run("plan of config/samples agrees with the controller", func(t *testing.T) {
		r := runPlugin(t, nil, "", "plan", "-f", samples, "-o", "json")
		if r.code != 0 {
			t.Fatalf("plan exit %d: %s", r.code, r.stderr)
		}
		var report licensecli.PlanReport
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
			t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
		}
		if len(report.Namespaces) != 1 || report.Namespaces[0].Namespace != ns {
			t.Fatalf("plan namespaces: %+v", report.Namespaces)
		}
		planned := report.Namespaces[0]

		var users licv1.UserLicenseList
		var skus licv1.LicenseSkuList
		mustList(t, ctx, k8s, &users, ns)
		mustList(t, ctx, k8s, &skus, ns)

		want := map[string]string{} // user/sku -> state/reason, live
		for _, u := range users.Items {
			for _, l := range u.Status.Licenses {
				want[u.Spec.UserPrincipalName+"/"+l.SKU] = l.State + "/" + l.Reason + " by " + strings.Join(l.AssignedBy, ",") + " disabled " + strings.Join(l.DisabledPlans, ",")
			}
		}
		got := map[string]string{}
		for _, u := range planned.Users {
			for _, l := range u.Licenses {
				got[u.UserPrincipalName+"/"+l.SKU] = l.State + "/" + l.Reason + " by " + strings.Join(l.AssignedBy, ",") + " disabled " + strings.Join(l.DisabledPlans, ",")
			}
		}
		if len(want) < 10 {
			t.Fatalf("the samples should give 10 licenses, the controller wrote %d: %v", len(want), want)
		}
		compareMaps(t, "license (user/sku)", got, want)

		wantSku := map[string][5]int64{}
		for _, s := range skus.Items {
			wantSku[s.Name] = [5]int64{s.Status.Seats, s.Status.Assigned, s.Status.Requested, s.Status.Waiting, s.Status.Available}
		}
		gotSku := map[string][5]int64{}
		for _, s := range planned.SKUs {
			gotSku[s.Name] = [5]int64{s.UsableSeats, s.Assigned, s.Requested, s.Waiting, s.Available}
		}
		compareMaps(t, "SKU seats/assigned/requested/waiting/available", gotSku, wantSku)

		// The seat states and the duplicate-plans warnings agree too.
		for _, s := range skus.Items {
			live := licensecli.SeatRowOf(&s, &s.Status).State
			for _, p := range planned.SKUs {
				if p.Name == s.Name && p.State != live {
					t.Errorf("SKU %s: plan says %s, the controller %s", s.Name, p.State, live)
				}
			}
		}
		for _, u := range users.Items {
			c := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionDuplicatePlans)
			liveDup := c != nil && c.Status == "True"
			planDup := slices.ContainsFunc(planned.DuplicatePlans, func(d licensecli.UserMessage) bool { return d.Name == u.Name })
			if liveDup != planDup {
				t.Errorf("user %s: DuplicatePlans live %v, planned %v", u.Name, liveDup, planDup)
			}
		}
		if report.Summary.Errors != 2 || report.Summary.Waiting != 1 {
			t.Errorf("summary: %+v, want 2 errors of which 1 waiting", report.Summary)
		}
	})

	t.Run("plan --against-cluster of the applied samples changes nothing", func(t *testing.T) {
		r := plugin("plan", "-f", samples, "--against-cluster", "--fail-on=waiting")
		// Fails on any change; exit 1 (gina waits) proves the cluster's
		// statuses were read and planned.
		if r.code != 1 {
			t.Errorf("--fail-on=waiting with gina waiting: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		mustContain(t, r.stdout, "Changes: none", "0 changes against the cluster")
	})

	t.Run("plan --against-cluster shows the effect of a change", func(t *testing.T) {
		// One more seat of Exchange Plan 1: gina, who waits, gets it.
		change := writeFile(t, "exchange-p1.yaml", `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: exchange-p1, namespace: contoso}
spec:
  skuPartNumber: EXCHANGESTANDARD
  displayName: Exchange Online (Plan 1)
  subscriptions: [{name: contract-2026, seats: 3}]
  servicePlans: [{name: EXCHANGE_S_STANDARD}]
`)
		t.Logf("$ kubectl license plan -f exchange-p1.yaml --against-cluster\n%s", plugin("plan", "-f", change, "--against-cluster").stdout)
		r := plugin("plan", "-f", change, "--against-cluster", "-o", "json", "--fail-on=error")
		if r.code != 1 {
			t.Errorf("frank still lacks a usage location: --fail-on=error must exit 1, got %d", r.code)
		}
		var report licensecli.PlanReport
		if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
			t.Fatal(err)
		}
		changes := report.Namespaces[0].Changes
		if len(changes) != 1 || changes[0].User != "gina@contoso.com" || changes[0].Kind != licensecli.GainsSeat ||
			changes[0].Before != "InsufficientSeats" || changes[0].After != "Active" {
			t.Errorf("changes: %+v, want gina gains a seat of exchange-p1", changes)
		}
		if report.Summary.Users != 7 {
			t.Errorf("the live users are planned too: %d users, want 7", report.Summary.Users)
		}
	})

	s := &apiSuite{ctx: ctx, k8s: k8s, kubeconfig: kubeconfig, plugin: plugin, requests: requests}
	t.Run("plan refuses exactly what the API server refuses", s.testInvalidCorpus)
	t.Run("plan -k of a kustomization against the cluster", s.testKustomizeAgainstCluster)

	t.Run("import rejects bad rows and applies nothing", func(t *testing.T) {
		csv := writeFile(t, "bad.csv", "UserPrincipalName,SkuPartNumber\nhank@contoso.com,SPE_E3\nivy@contoso.com,NOPE\n")
		r := plugin("import", csv, "-n", ns, "--apply")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
		}
		mustContain(t, r.stderr, "line 3: unknown SkuPartNumber NOPE", "nothing was imported")
		var u licv1.UserLicense
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hank"}, &u); err == nil {
			t.Errorf("hank was created although the file has a bad row")
		}
	})

	t.Run("import --apply, then seats and user", func(t *testing.T) {
		add := writeFile(t, "add.csv", "\ufeffuserprincipalname,SKUPARTNUMBER,UsageLocation\r\n"+
			"hank@contoso.com,EXCHANGESTANDARD; POWER_BI_PRO,DE\r\n"+
			"frank@contoso.com,POWER_BI_PRO,us\r\n")
		r := plugin("import", add, "-n", ns, "--apply")
		if r.code != 0 {
			t.Fatalf("import add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		t.Logf("$ kubectl license import add.csv -n contoso --apply\n%s", r.stdout)
		mustContain(t, r.stdout, "userlicense/hank created: +exchange-p1 +power-bi-pro", "userlicense/frank configured: +power-bi-pro usageLocation=US")

		// ann's exchange-p2 was created by another field manager (the
		// test's client): replace must still remove it.
		replace := writeFile(t, "replace.csv", "UserPrincipalName,SkuPartNumber\nann@contoso.com,SPE_E3\n")
		r = plugin("import", replace, "-n", ns, "--mode", "replace", "--apply")
		if r.code != 0 {
			t.Fatalf("import replace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// The apply alone cannot drop an entry another manager owns; the
		// guarded merge patch that follows does.
		mustContain(t, r.stdout, "userlicense/ann configured: +m365-e3 -exchange-p2 (entries set by other field managers adjusted)")

		var hank, ann, frank licv1.UserLicense
		mustGet(t, ctx, k8s, ns, "hank", &hank)
		mustGet(t, ctx, k8s, ns, "ann", &ann)
		mustGet(t, ctx, k8s, ns, "frank", &frank)
		if got := skuNames(hank.Spec.Licenses); !slices.Equal(got, []string{"exchange-p1", "power-bi-pro"}) || hank.Spec.UsageLocation != "DE" {
			t.Errorf("hank: licenses %v location %q", got, hank.Spec.UsageLocation)
		}
		if got := skuNames(ann.Spec.Licenses); !slices.Equal(got, []string{"m365-e3"}) {
			t.Errorf("ann after replace: %v, want [m365-e3]", got)
		}
		if frank.Spec.UsageLocation != "US" || !slices.Equal(skuNames(frank.Spec.Licenses), []string{"power-bi-pro"}) {
			t.Errorf("frank: %+v", frank.Spec)
		}
		if !managedBy(hank.ManagedFields, fieldManager) || !managedBy(ann.ManagedFields, fieldManager) {
			t.Errorf("kubectl-license must own the fields it wrote: %v", hank.ManagedFields)
		}
		// Applying the same file again changes nothing: fails if a user is
		// reported changed (each one named in the file is reported).
		r = plugin("import", add, "-n", ns, "--apply")
		mustContain(t, r.stdout, "userlicense/hank unchanged", "userlicense/frank unchanged")

		waitConverged(t, ctx, k8s, ns)

		r = plugin("seats", "-n", ns, "-o", "json")
		if r.code != 0 {
			t.Fatalf("seats: exit %d: %s", r.code, r.stderr)
		}
		var seats struct{ Items []licensecli.SeatRow }
		if err := json.Unmarshal([]byte(r.stdout), &seats); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range seats.Items {
			got[s.Name] = strings.Join([]string{itoa(s.UsableSeats), itoa(s.Assigned), itoa(s.Available), itoa(s.Waiting), s.State}, " ")
		}
		compareMaps(t, "seats (usable assigned available waiting state)", got, map[string]string{
			"exchange-p1":  "2 2 0 2 InsufficientSeats", // hank waits too: holders keep their seats
			"exchange-p2":  "3 0 3 0 OK",                // ann's direct assignment was replaced
			"m365-e3":      "5 4 1 0 OK",                // + frank, now located
			"power-bi-pro": "5 4 1 0 OK",                // + frank, + hank
		})

		t.Logf("$ kubectl license seats -n contoso\n%s", plugin("seats", "-n", ns).stdout)
		r = plugin("seats", "-A")
		if !regexp.MustCompile(`(?m)^NAMESPACE +NAME +PART NUMBER .* STATE$`).MatchString(r.stdout) ||
			!regexp.MustCompile(`(?m)^contoso +exchange-p1 +EXCHANGESTANDARD +Exchange Online \(Plan 1\) +2 +2 +2 +0 +4 +2 +InsufficientSeats$`).MatchString(r.stdout) {
			t.Errorf("seats -A:\n%s", r.stdout)
		}

		// user: the field selector finds hank; the events tell the history.
		var text result
		deadline := time.Now().Add(20 * time.Second)
		for {
			text = plugin("user", "hank@contoso.com", "-n", ns)
			if strings.Contains(text.stdout, "LicenseAssignmentFailed") && strings.Contains(text.stdout, "LicenseAssigned") || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if text.code != 0 {
			t.Fatalf("user: exit %d: %s", text.code, text.stderr)
		}
		t.Logf("$ kubectl license user hank@contoso.com -n contoso\n%s", text.stdout)
		mustContain(t, text.stdout,
			"User:             hank@contoso.com",
			"UserLicense:      contoso/hank",
			"exchange-p1    EXCHANGESTANDARD   Error    InsufficientSeats   Direct",
			"power-bi-pro   POWER_BI_PRO       Active   -                   Direct",
			"Waiting since:",
			"Disabled plans:   -",
			"LicenseAssigned           license power-bi-pro (POWER_BI_PRO) assigned by Direct",
			"LicenseAssignmentFailed   license exchange-p1 failed: InsufficientSeats")
		if !requests.saw("fieldSelector=spec.userPrincipalName%3Dhank%40contoso.com") {
			t.Errorf("user must ask the server with a field selector on spec.userPrincipalName; requests: %v", requests.all())
		}
		if !requests.saw("fieldSelector=regarding.uid%3D" + string(hank.UID)) {
			t.Errorf("user must select the events by regarding.uid; requests: %v", requests.all())
		}

		// ann: the history shows the direct Exchange license removed.
		var report licensecli.UserReport
		deadline = time.Now().Add(20 * time.Second)
		for {
			r = plugin("user", "Ann@Contoso.com", "-n", ns, "-o", "json") // case-insensitive fallback
			if r.code != 0 {
				t.Fatalf("user ann: exit %d: %s", r.code, r.stderr)
			}
			report = licensecli.UserReport{}
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(report.Events, func(e licensecli.EventRow) bool { return e.Reason == controllers.EventLicenseRemoved }) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if report.Name != "ann" || len(report.Licenses) != 1 || report.Licenses[0].SKU != "m365-e3" ||
			!slices.Equal(report.Licenses[0].AssignedBy, []string{"Direct", "Group/all-employees"}) ||
			!slices.Equal(report.Licenses[0].DisabledPlans, nil) {
			t.Errorf("ann: %+v", report)
		}
		if report.DuplicatePlans != "" {
			t.Errorf("ann no longer has Exchange twice, DuplicatePlans: %s", report.DuplicatePlans)
		}
		var reasons []string
		for _, e := range report.Events {
			reasons = append(reasons, e.Reason)
		}
		if !slices.Contains(reasons, controllers.EventLicenseAssigned) || !slices.Contains(reasons, controllers.EventLicenseRemoved) {
			t.Errorf("ann's history: %v, want LicenseAssigned and LicenseRemoved", reasons)
		}
		if !slices.IsSortedFunc(report.Events, func(a, b licensecli.EventRow) int { return a.Time.Compare(b.Time.Time) }) {
			t.Errorf("events are not sorted by time: %+v", report.Events)
		}
	})

	t.Run("holders: who holds and who waits, in queue order", s.testHolders)
	t.Run("assign and unassign", s.testAssign)
	t.Run("import of the admin center's export: server dry run, apply, resume after a failure", s.testImportExport)
	t.Run("import --apply: bounded concurrency and progress", s.testBulkImport)
	t.Run("import --apply interrupted (Ctrl-C), then resumed", s.testInterruptedImport)

	t.Logf("suite took %v", time.Since(start).Round(time.Millisecond))
}

func genericStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
}

// startManager runs the tenant controller in a manager, wired as cmd/manager
// wires it (controllers.Setup).
func startManager(t *testing.T, ctx context.Context, cfg *rest.Config) {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
		Controller:             config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controllers.Setup(mgr, controllers.Options{MaxConcurrentTenants: 2, MaxConcurrentWrites: 16, RecordEvents: true}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	mctx, stop := context.WithCancel(ctx)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop")
		}
	})
}

// createSamples creates every object of dir (the Namespace first).
func createSamples(t *testing.T, ctx context.Context, c client.Client, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{}
			if err := utilyaml.Unmarshal(doc, &obj.Object); err != nil {
				t.Fatal(err)
			}
			if len(obj.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, obj); err != nil {
				t.Fatalf("creating %s %s from %s: %v", obj.GetKind(), obj.GetName(), f, err)
			}
		}
	}
}

// waitConverged waits until every licensing object of ns is planned at
// its generation and the statuses stop changing.
func waitConverged(t *testing.T, ctx context.Context, c client.Client, ns string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last, stable := "", 0
	for time.Now().Before(deadline) {
		fp, ok := fingerprint(t, ctx, c, ns)
		if ok && fp == last {
			stable++
			if stable >= 3 {
				return
			}
		} else {
			stable = 0
		}
		last = fp
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("namespace %s did not converge in 30s", ns)
}

// fingerprint is the resourceVersions of ns's objects, and whether all
// of them are planned at their current generation.
func fingerprint(t *testing.T, ctx context.Context, c client.Client, ns string) (string, bool) {
	var skus licv1.LicenseSkuList
	var groups licv1.LicenseGroupList
	var users licv1.UserLicenseList
	mustList(t, ctx, c, &skus, ns)
	mustList(t, ctx, c, &groups, ns)
	mustList(t, ctx, c, &users, ns)
	var b strings.Builder
	ok := true
	check := func(gen, observed int64, rv string, conds []metav1.Condition) {
		c := meta.FindStatusCondition(conds, licv1.ConditionReady)
		if observed != gen || c == nil || c.ObservedGeneration != gen {
			ok = false
		}
		b.WriteString(rv + ",")
	}
	for _, s := range skus.Items {
		check(s.Generation, s.Status.ObservedGeneration, s.ResourceVersion, s.Status.Conditions)
	}
	for _, g := range groups.Items {
		check(g.Generation, g.Status.ObservedGeneration, g.ResourceVersion, g.Status.Conditions)
	}
	for _, u := range users.Items {
		check(u.Generation, u.Status.ObservedGeneration, u.ResourceVersion, u.Status.Conditions)
	}
	return b.String(), ok && len(skus.Items) > 0
}

func mustList(t *testing.T, ctx context.Context, c client.Client, list client.ObjectList, ns string) {
	t.Helper()
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, ctx context.Context, c client.Client, ns, name string, obj client.Object) {
	t.Helper()
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
}

func compareMaps[V comparable](t *testing.T, what string, got, want map[string]V) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s %s: missing in plan, controller has %v", what, k, w)
		} else if g != w {
			t.Errorf("%s %s: plan %v, controller %v", what, k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %s: planned %v, the controller has none", what, k, g)
		}
	}
}

func skuNames(ls []licv1.LicenseAssignment) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.SKU)
	}
	return out
}

func managedBy(mf []metav1.ManagedFieldsEntry, manager string) bool {
	for _, m := range mf {
		if m.Manager == manager {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := envtestutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requestLog records the URLs of the plugin's requests.
type requestLog struct {
	mu   sync.Mutex
	urls []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.urls = append(l.urls, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
		l.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (l *requestLog) saw(query string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range l.urls {
		if strings.Contains(u, query) {
			return true
		}
	}
	return false
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.urls))
	for i, u := range l.urls {
		out[i], _ = url.QueryUnescape(u)
	}
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
