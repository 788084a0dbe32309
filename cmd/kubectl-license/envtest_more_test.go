package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// apiSuite is what the subtests of TestAgainstAPIServer share: a real
// kube-apiserver with the CRDs and the tenant controller running, the
// contoso samples applied.
type apiSuite struct {
	ctx        context.Context
	k8s        client.Client
	kubeconfig string
	plugin     func(args ...string) result
	requests   *requestLog
}

// pluginWith runs the plugin through a client whose transport is wrapped
// by wrap (fault injection, request counting), with the plugin's own
// client settings (no client-side rate limit).
func (s *apiSuite) pluginWith(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper, stdin string, args ...string) result {
	t.Helper()
	return s.pluginCtx(t, context.Background(), wrap, stdin, args...)
}

// pluginCtx is pluginWith with a context (cancelled: Ctrl-C).
func (s *apiSuite) pluginCtx(t *testing.T, ctx context.Context, wrap func(http.RoundTripper) http.RoundTripper, stdin string, args ...string) result {
	t.Helper()
	newClient := func() (client.Client, error) {
		e := newEnv(genericStreams())
		*e.flags.KubeConfig = s.kubeconfig
		cfg, err := e.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		cfg.QPS = -1
		cfg.WrapTransport = wrap
		return client.New(cfg, client.Options{Scheme: scheme})
	}
	return runPluginCtx(t, ctx, newClient, stdin, append(args, "--kubeconfig", s.kubeconfig)...)
}

// namespace creates a namespace.
func (s *apiSuite) namespace(t *testing.T, name string) *corev1.Namespace {
	t.Helper()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if err := s.k8s.Create(s.ctx, ns); err != nil {
		t.Fatal(err)
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// testInvalidCorpus sends every manifest of api/v1alpha1/testdata/invalid,
// and a few more, to the API server and through plan: both must refuse,
// naming the same fields, and every cause the server gives must be in
// plan's message.
func (s *apiSuite) testInvalidCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "api", "v1alpha1", "testdata", "invalid", "*.yaml"))
	extra := map[string]string{
		"unknown-field.yaml": `apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: unknown-field}
spec: {userPrincipalName: ann@contoso.com, usagelocation: DE, licences: []}
`,
		"several-errors.yaml": `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: several-errors}
spec:
  skuPartNumber: "SPE E3"
  subscriptions: [{name: main, seats: -3, state: Paused}, {name: main, seats: 1}]
`,
		"bad-name.yaml": `apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseGroup
metadata: {name: Bad_Name}
spec: {priority: -5}
`,
	}
	for name, content := range extra {
		files = append(files, writeFile(t, name, content))
	}
	if len(files) < 18 {
		t.Fatalf("corpus: %d files", len(files))
	}
	ns := s.namespace(t, "invalid-corpus")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The API server, with kubectl apply's strict field validation.
			objs := readObjects(t, f)
			if len(objs) != 1 {
				t.Fatalf("%d objects", len(objs))
			}
			obj := objs[0]
			obj.SetNamespace(ns.Name)
			serverErr := s.k8s.Create(s.ctx, obj, client.FieldValidation(metav1.FieldValidationStrict))
			if serverErr == nil {
				t.Fatalf("the API server accepted %s", f)
			}
			// plan, offline, on the same file.
			r := runPlugin(t, nil, "", "plan", "-f", f, "-n", ns.Name, "-o", "json", "--fail-on=error")
			var rep licensecli.PlanReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("plan: %v\n%s", err, r.stderr)
			}
			if r.code != 1 || len(rep.Refused) != 1 {
				t.Fatalf("plan accepted what the API server refused (%v): exit %d, %+v", serverErr, r.code, rep)
			}
			got := rep.Refused[0]
			want := licensecli.RefusedFields(serverErr)
			if len(want) == 0 || !slices.Equal(got.Fields, want) {
				t.Errorf("fields: plan %v, API server %v\nplan: %s\nserver: %v", got.Fields, want, got.Message, serverErr)
			}
			var st apierrors.APIStatus
			if apierrors.IsInvalid(serverErr) && asStatus(serverErr, &st) {
				for _, c := range st.Status().Details.Causes {
					if !strings.Contains(got.Message, c.Field+": "+c.Message) {
						t.Errorf("the server's cause %q is not in plan's message %q", c.Field+": "+c.Message, got.Message)
					}
				}
			} else if got.Message != serverErr.Error() {
				t.Errorf("message: plan %q, API server %q", got.Message, serverErr.Error())
			}
		})
	}
}

// readObjects decodes every YAML document of a file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(readFile(t, path))))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func asStatus(err error, st *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*st = s
	}
	return ok && s.Status().Details != nil
}

// testKustomizeAgainstCluster plans a kustomization (the samples, a label
// and a patch buying a third Exchange Plan 1 seat) against the live
// objects: gina, who waits, gets the seat; nothing else changes.
func (s *apiSuite) testKustomizeAgainstCluster(t *testing.T) {
	r := s.plugin("plan", "-k", kustomization(t), "--against-cluster", "-o", "json", "--fail-on=waiting")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep licensecli.PlanReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Namespaces[0].Changes {
		got = append(got, c.SKU+" "+c.User+" "+string(c.Kind))
	}
	if !slices.Equal(got, []string{"exchange-p1 gina@contoso.com GainsSeat"}) || rep.Summary.Refused != 0 || rep.Summary.Users != 7 {
		t.Errorf("changes %v, summary %+v", got, rep.Summary)
	}
	t.Logf("$ kubectl license plan -k overlays/contoso --against-cluster\n%s", s.plugin("plan", "-k", kustomization(t), "--against-cluster").stdout)
}

// testHolders: after the import gave hank a direct Exchange Plan 1 while
// gina waits through her group, hank is first in line (direct before
// group), gina second.
func (s *apiSuite) testHolders(t *testing.T) {
	r := s.plugin("holders", "EXCHANGESTANDARD", "-n", "contoso", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep licensecli.HoldersReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var holders, queue []string
	for _, h := range rep.Holders {
		holders = append(holders, h.UserPrincipalName)
	}
	for _, q := range rep.Queue {
		queue = append(queue, fmt.Sprintf("%d %s", q.Position, q.UserPrincipalName))
		if q.Since == nil {
			t.Errorf("%s waits without waitingSince", q.UserPrincipalName)
		}
	}
	if !slices.Equal(holders, []string{"dave@contoso.com", "erin@contoso.com"}) || !slices.Equal(queue, []string{"1 hank@contoso.com", "2 gina@contoso.com"}) {
		t.Errorf("holders %v, queue %v", holders, queue)
	}
	t.Logf("$ kubectl license holders EXCHANGESTANDARD -n contoso\n%s", s.plugin("holders", "EXCHANGESTANDARD", "-n", "contoso").stdout)
}

// testAssign gives frank Exchange Plan 2 and takes hank's waiting Exchange
// Plan 1 away, each with the planned outcome printed first, written with
// server-side apply by kubectl-license.
func (s *apiSuite) testAssign(t *testing.T) {
	const ns = "contoso"
	// A server dry run changes nothing.
	r := s.plugin("assign", "Frank@Contoso.com", "EXCHANGEENTERPRISE", "-n", ns, "--dry-run=server")
	if r.code != 0 {
		t.Fatalf("dry run: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, r.stdout, "userlicense/frank configured (server dry run): +exchange-p2")
	var frank licv1.UserLicense
	mustGet(t, s.ctx, s.k8s, ns, "frank", &frank)
	if slices.Contains(skuNames(frank.Spec.Licenses), "exchange-p2") {
		t.Fatalf("a server dry run stored the change: %v", frank.Spec.Licenses)
	}

	r = s.plugin("assign", "Frank@Contoso.com", "EXCHANGEENTERPRISE", "-n", ns, "--disabled-plans", "")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("$ kubectl license assign Frank@Contoso.com EXCHANGEENTERPRISE -n contoso\n%s", r.stdout)
	mustContainFields(t, r.stdout,
		"Planned outcome in namespace contoso",
		"frank@contoso.com, exchange-p2 (EXCHANGEENTERPRISE): not requested -> Active",
		"Enabled plans: EXCHANGE_S_ENTERPRISE",
		"exchange-p2 frank@contoso.com gains seat - Active",
		"userlicense/frank configured: +exchange-p2")
	mustGet(t, s.ctx, s.k8s, ns, "frank", &frank)
	// The usage location the import set (owned by kubectl-license too) stays:
	// an apply that left it out would remove it.
	if !slices.Equal(skuNames(frank.Spec.Licenses), []string{"power-bi-pro", "exchange-p2"}) || !managedBy(frank.ManagedFields, fieldManager) ||
		frank.Spec.UsageLocation != "US" {
		t.Errorf("frank: %v, managed by %v", frank.Spec.Licenses, frank.ManagedFields)
	}
	// Again: unchanged, nothing written.
	r = s.plugin("assign", "frank@contoso.com", "exchange-p2", "-n", ns)
	mustContain(t, r.stdout, "userlicense/frank unchanged: frank@contoso.com already has exchange-p2")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"assign", "frank@contoso.com", "exchange-p2", "--disabled-plans", "NOPE"}, "--disabled-plans lists NOPE, which none of exchange-p2 has (their plans: EXCHANGE_S_ENTERPRISE)"},
		{[]string{"assign", "nobody@contoso.com", "SPE_E3"}, "no UserLicense in namespace contoso has userPrincipalName nobody@contoso.com"},
		{[]string{"unassign", "gina@contoso.com", "exchange-p1"}, "gina@contoso.com has no direct assignment of exchange-p1: nothing to remove (it comes from Group/contractors: change the group instead)"},
	} {
		r := s.plugin(append(tc.args, "-n", ns)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, r.code, r.stderr)
		}
	}

	// hank waits for Exchange Plan 1; unassigning it takes him out of the queue.
	r = s.plugin("unassign", "HANK@contoso.com", "EXCHANGESTANDARD", "-n", ns, "-o", "yaml")
	if r.code != 0 {
		t.Fatalf("unassign: exit %d: %s", r.code, r.stderr)
	}
	mustContainFields(t, r.stderr, "hank@contoso.com, exchange-p1 (EXCHANGESTANDARD): Error (InsufficientSeats) -> not requested",
		"exchange-p1 hank@contoso.com stops waiting InsufficientSeats -")
	var hank licv1.UserLicense
	mustGet(t, s.ctx, s.k8s, ns, "hank", &hank)
	if !slices.Equal(skuNames(hank.Spec.Licenses), []string{"power-bi-pro"}) || !strings.Contains(r.stdout, "name: hank") {
		t.Errorf("hank after unassign: %v\n%s", hank.Spec.Licenses, r.stdout)
	}
	// Put it back for the tests that follow.
	if r := s.plugin("assign", "hank@contoso.com", "exchange-p1", "-n", ns); r.code != 0 {
		t.Fatalf("assign back: %s", r.stderr)
	}
	waitConverged(t, s.ctx, s.k8s, ns)
}

// testImportExport imports the admin center's export file as it is:
// first as a server dry run, then with one user failing (the API server
// answers 500 for ivy), then again: only ivy is written.
func (s *apiSuite) testImportExport(t *testing.T) {
	const ns = "contoso"
	export := filepath.Join("testdata", "csv", "admin-center-export.csv")

	r := s.plugin("import", export, "-n", ns, "--tenant", "contoso", "--dry-run=server")
	if r.code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, r.stdout, "userlicense/ann configured (server dry run): +exchange-p2", "userlicense/hank-hill created (server dry run): +exchange-p1 +power-bi-pro usageLocation=US",
		"userlicense/ivy created (server dry run): usageLocation=IE", "userlicense/frank unchanged")
	mustContain(t, r.stderr, "Summary (server dry run): 2 created, 1 changed, 1 unchanged, 0 failed (4 users in ",
		"note: line 5: frank@contoso.com is Unlicensed in the file but has direct licenses (power-bi-pro, exchange-p2)")
	var u licv1.UserLicense
	if err := s.k8s.Get(s.ctx, client.ObjectKey{Namespace: ns, Name: "hank-hill"}, &u); !apierrors.IsNotFound(err) {
		t.Fatalf("a server dry run created hank-hill: %v", err)
	}

	// ivy's write fails.
	var writes atomic.Int32
	failIvy := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch {
				writes.Add(1)
				if strings.HasSuffix(req.URL.Path, "/userlicenses/ivy") {
					body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}`
					return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
				}
			}
			return rt.RoundTrip(req)
		})
	}
	r = s.pluginWith(t, failIvy, "", "import", export, "-n", ns, "--tenant", "contoso", "--apply")
	if r.code != 1 {
		t.Fatalf("a failed user: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, r.stderr, "error: userlicense/ivy (Ivy Chen <IVY@contoso.com>, line(s) 4): etcdserver: request timed out",
		"Summary: 1 created, 1 changed, 1 unchanged, 1 failed (4 users in ",
		"1 of 4 user(s) could not be applied; correct the cause and run the same command again: it applies only what is left")
	if writes.Load() != 3 {
		t.Errorf("%d writes, want 3 (ann, hank-hill, ivy)", writes.Load())
	}

	// Again, without the fault: only ivy is left.
	writes.Store(0)
	count := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch {
				writes.Add(1)
			}
			return rt.RoundTrip(req)
		})
	}
	r = s.pluginWith(t, count, "", "import", export, "-n", ns, "--tenant", "contoso", "--apply")
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("$ kubectl license import admin-center-export.csv -n contoso --tenant contoso --apply   # re-run\n%s%s", r.stdout, r.stderr)
	mustContain(t, r.stdout, "userlicense/ivy created: usageLocation=IE", "userlicense/ann unchanged", "userlicense/hank-hill unchanged")
	mustContain(t, r.stderr, "Summary: 1 created, 0 changed, 3 unchanged, 0 failed")
	if writes.Load() != 1 {
		t.Errorf("the re-run wrote %d users, want 1 (ivy)", writes.Load())
	}
	var ivy licv1.UserLicense
	mustGet(t, s.ctx, s.k8s, ns, "ivy", &ivy)
	if ivy.Spec.UserPrincipalName != "IVY@contoso.com" || ivy.Spec.UsageLocation != "IE" || len(ivy.Spec.Licenses) != 0 {
		t.Errorf("ivy: %+v", ivy.Spec)
	}
	waitConverged(t, s.ctx, s.k8s, ns)
}

// testBulkImport imports 150 new users with --concurrency 4 into a new
// namespace: the writes overlap (at most 4 at once), plain progress lines
// report every 10%, -o name lists every user.
func (s *apiSuite) testBulkImport(t *testing.T) {
	ns := s.namespace(t, "bulk")
	sku := &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: "e3", Namespace: ns.Name},
		Spec: licv1.LicenseSkuSpec{SkuPartNumber: "SPE_E3", Subscriptions: []licv1.Subscription{{Name: "main", Seats: 100}}}}
	if err := s.k8s.Create(s.ctx, sku); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("User principal name,Licenses,Usage location\n")
	const n = 150
	for i := range n {
		fmt.Fprintf(&csv, "user%03d@fabrikam.com,fabrikam:SPE_E3,US\n", i)
	}

	// The first write waits (up to 10 s) for a second one to start: a
	// serial import fails here, a concurrent one never waits long.
	var inFlight, maxInFlight atomic.Int32
	second := make(chan struct{})
	var once sync.Once
	gate := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodPatch {
				return rt.RoundTrip(req)
			}
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := maxInFlight.Load()
				if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
					break
				}
			}
			if cur >= 2 {
				once.Do(func() { close(second) })
			} else {
				select {
				case <-second:
				case <-time.After(10 * time.Second):
				}
			}
			return rt.RoundTrip(req)
		})
	}
	r := s.pluginWith(t, gate, csv.String(), "import", "-", "-n", ns.Name, "--apply", "--concurrency", "4", "-o", "name")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := strings.Count(r.stdout, "userlicense.licensing.licenseops.dev/user"); got != n {
		t.Errorf("-o name lists %d users, want %d", got, n)
	}
	if m := maxInFlight.Load(); m < 2 || m > 4 {
		t.Errorf("at most %d writes in flight, want 2 to 4 (--concurrency 4)", m)
	}
	if got := strings.Count(r.stderr, "progress: "); got != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", got, r.stderr)
	}
	mustContain(t, r.stderr, "progress: 150/150 users written (100%)", "Summary: 150 created, 0 changed, 0 unchanged, 0 failed (150 users in ")
	var users licv1.UserLicenseList
	mustList(t, s.ctx, s.k8s, &users, ns.Name)
	if len(users.Items) != n {
		t.Errorf("%d users stored, want %d", len(users.Items), n)
	}
}

// testInterruptedImport cancels an import (Ctrl-C) after its 20th write:
// the writes in flight finish, the rest is reported as not attempted, and
// running the same import again writes exactly the users left.
func (s *apiSuite) testInterruptedImport(t *testing.T) {
	ns := s.namespace(t, "interrupted")
	sku := &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: "e3", Namespace: ns.Name},
		Spec: licv1.LicenseSkuSpec{SkuPartNumber: "SPE_E3", Subscriptions: []licv1.Subscription{{Name: "main", Seats: 10}}}}
	if err := s.k8s.Create(s.ctx, sku); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("UserPrincipalName,SkuPartNumber,UsageLocation\n")
	const n = 100
	for i := range n {
		fmt.Fprintf(&csv, "u%03d@contoso.com,SPE_E3,DE\n", i)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var writes atomic.Int32
	ctrlC := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && writes.Add(1) == 20 {
				interrupt()
			}
			return rt.RoundTrip(req)
		})
	}
	r := s.pluginCtx(t, ctx, ctrlC, csv.String(), "import", "-", "-n", ns.Name, "--apply", "--concurrency", "4")
	if r.code != 1 {
		t.Fatalf("interrupted: exit %d, want 1\n%s", r.code, r.stderr)
	}
	created := strings.Count(r.stdout, " created: ")
	mustContain(t, r.stderr, fmt.Sprintf("Summary: %d created, 0 changed, 0 unchanged, 0 failed, %d not attempted", created, n-created),
		"interrupted: ", "run the same command again to apply what is left")
	if strings.Contains(r.stderr, "context canceled") || created < 20 || created > 24 {
		t.Errorf("the writes in flight finish (20 to 24 with --concurrency 4), none is cancelled: %d created\n%s", created, r.stderr)
	}

	writes.Store(0)
	r = s.pluginWith(t, ctrlC, csv.String(), "import", "-", "-n", ns.Name, "--apply", "--concurrency", "4")
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, r.stderr, fmt.Sprintf("Summary: %d created, 0 changed, %d unchanged, 0 failed", n-created, created))
	if int(writes.Load()) != n-created {
		t.Errorf("the re-run wrote %d users, want %d", writes.Load(), n-created)
	}
}
