package planner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Benchmark tenant shape: see genBenchTenant.
const (
	benchSKUs   = 50
	benchGroups = 500
)

var benchNow = metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))

// e3Plans are well-known service plans of the base suite; the rest of the
// realistic plan pool is generated (see benchPlanPool).
var e3Plans = []string{
	"AAD_PREMIUM", "EXCHANGE_S_ENTERPRISE", "FORMS_PLAN_E3", "INTUNE_A", "MCOSTANDARD", "OFFICESUBSCRIPTION",
	"PROJECTWORKMANAGEMENT", "SHAREPOINTENTERPRISE", "STREAM_O365_E3", "SWAY", "TEAMS1", "YAMMER_ENTERPRISE",
}

// benchPlanPool is the pool of service plans the suites share: the named
// E3 plans, then generated ones. Real suites overlap the same way
// (Microsoft 365 E5 includes most of E3, EMS E3 is part of both).
func benchPlanPool() []string {
	pool := slices.Clone(e3Plans)
	for i := len(pool); i < 120; i++ {
		pool = append(pool, fmt.Sprintf("SVC_%03d", i))
	}
	return pool
}

// genBenchTenant builds a large, realistic namespace:
//   - 50 SKUs, half of them with 40-70 service plans as real suites have
//     (Microsoft 365 E3 has about 47, E5 about 70): 5 suites (E3; E5, E3
//     plus 23 plans; F3; E1; Business Premium) over a shared pool of 120
//     plans, 20 large add-ons (EMS, Teams Premium, ...) of 40-70 plans,
//     partly from the pool, and 25 small add-ons of 8-12 plans. Some plans
//     require a suite plan (Exchange, Teams), one add-on's Exchange plan
//     conflicts with the suites' Exchange, two large add-ons conflict with
//     each other, one plan is not offered in CN and RU. E5 and eight
//     add-ons are scarce (seats for ~70% of demand), the rest have spare
//     seats.
//   - 500 groups: all-employees and 24 departments (E3, departments with
//     their own disabledPlans), 200 teams and 25 site/level groups (add-ons),
//     all by memberSelector matchLabels; 250 project groups with explicit
//     members (add-ons, priorities 0-9).
//   - users: ~5 group memberships each (about half by selector, half
//     explicit), 10% with a direct license, 1% in CN, 0.3% without usage
//     location.
//
// Add-ons are drawn with a skew (a few popular ones such as Visio or
// Power BI, a long tail), so many users get the same SKU from several
// groups, as in real tenants.
func genBenchTenant(users int, seed uint64) Input {
	r := rand.New(rand.NewPCG(seed, 42))
	var in Input
	in.Now = benchNow

	// A few popular add-ons (Visio, Project, Power BI, ...) and a long tail.
	popular := func() string { return fmt.Sprintf("addon-%02d", r.IntN(r.IntN(4)+1)) }
	addon := func() string {
		if r.IntN(4) > 0 {
			return popular()
		}
		return fmt.Sprintf("addon-%02d", r.IntN(45))
	}

	// SKUs.
	mk := func(name, part string, plans []licv1.ServicePlan) *licv1.LicenseSku {
		return &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1, UID: types.UID("uid-" + name)},
			Spec: licv1.LicenseSkuSpec{SkuPartNumber: part, ServicePlans: plans,
				Subscriptions: []licv1.Subscription{{Name: "main", State: licv1.SubscriptionEnabled}, {Name: "grace", State: licv1.SubscriptionWarning}}},
		}
	}
	pool := benchPlanPool()
	suite := func(names ...[]string) []licv1.ServicePlan {
		var ps []licv1.ServicePlan
		for _, part := range names {
			for _, n := range part {
				p := licv1.ServicePlan{Name: n}
				if n == "SWAY" {
					p.UnavailableIn = []string{"CN"}
				}
				ps = append(ps, p)
			}
		}
		return ps
	}
	in.SKUs = append(in.SKUs,
		mk("m365-e3", "SPE_E3", suite(pool[:47])),
		mk("m365-e5", "SPE_E5", suite(pool[:70])),
		mk("m365-f3", "SPE_F1", suite(pool[:10], pool[70:100])),
		mk("o365-e1", "STANDARDPACK", suite(pool[1:41])),
		mk("m365-bp", "SPB", suite(pool[:30], pool[100:115])),
	)
	for k := range benchSKUs - 5 {
		var ps []licv1.ServicePlan
		n := 8 + k%5
		if k < 20 {
			n = 40 + (k*7)%31 // 40-70 plans
		}
		for j := range n {
			name := fmt.Sprintf("ADDON%02d_P%02d", k, j)
			if k < 20 && j >= n-10 {
				name = pool[70+(k*3+j)%50] // large add-ons overlap the suites' pool
			}
			p := licv1.ServicePlan{Name: name}
			if j == 0 && k%3 == 0 {
				p.Requires = []string{"EXCHANGE_S_ENTERPRISE"}
			}
			if j == 1 && k%4 == 0 {
				p.Requires = []string{"TEAMS1"}
			}
			ps = append(ps, p)
		}
		switch k {
		case 9:
			ps[2] = licv1.ServicePlan{Name: "EXCHANGE_S_STANDARD", ConflictsWith: []string{"EXCHANGE_S_ENTERPRISE"}}
		case 11:
			ps[3].UnavailableIn = []string{"CN", "RU"}
		case 14:
			ps[4].ConflictsWith = []string{"ADDON17_P04"}
		}
		slices.SortFunc(ps, func(a, b licv1.ServicePlan) int { return strings.Compare(a.Name, b.Name) })
		ps = slices.CompactFunc(ps, func(a, b licv1.ServicePlan) bool { return a.Name == b.Name })
		in.SKUs = append(in.SKUs, mk(fmt.Sprintf("addon-%02d", k), fmt.Sprintf("ADDON_%02d", k), ps))
	}

	// Groups.
	g := func(name string, prio int32, sel *metav1.LabelSelector, members []string, lics ...licv1.LicenseAssignment) *licv1.LicenseGroup {
		return &licv1.LicenseGroup{
			ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1, UID: types.UID("uid-" + name)},
			Spec:       licv1.LicenseGroupSpec{Priority: prio, MemberSelector: sel, Members: members, Licenses: lics},
		}
	}
	ml := func(kv ...string) *metav1.LabelSelector {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return &metav1.LabelSelector{MatchLabels: m}
	}
	in.Groups = append(in.Groups, g("all-employees", 0, ml("kind", "employee"), nil,
		licv1.LicenseAssignment{SKU: "m365-e3", DisabledPlans: []string{"YAMMER_ENTERPRISE"}}))
	for d := range 24 {
		lics := []licv1.LicenseAssignment{{SKU: "m365-e3", DisabledPlans: []string{e3Plans[d%len(e3Plans)]}}}
		if d%6 == 5 {
			lics = append(lics, licv1.LicenseAssignment{SKU: popular()})
		}
		in.Groups = append(in.Groups, g(fmt.Sprintf("dept-%02d", d), 1, ml("dept", fmt.Sprintf("d%02d", d)), nil, lics...))
	}
	for t := range 200 {
		lics := []licv1.LicenseAssignment{{SKU: popular()}}
		if t%5 == 0 {
			lics = append(lics, licv1.LicenseAssignment{SKU: addon()})
		}
		if t%20 == 3 {
			lics = append(lics, licv1.LicenseAssignment{SKU: "m365-e5"})
		}
		in.Groups = append(in.Groups, g(fmt.Sprintf("team-%03d", t), 2, ml("team", fmt.Sprintf("t%03d", t)), nil, lics...))
	}
	for s := range 25 {
		in.Groups = append(in.Groups, g(fmt.Sprintf("site-%02d", s), 0,
			ml("site", fmt.Sprintf("s%02d", s%25), "level", fmt.Sprintf("l%d", s%5)), nil, licv1.LicenseAssignment{SKU: popular()}))
	}
	explicit := make([][]string, 250)

	// Users.
	locations := []string{"US", "DE", "GB", "FR", "IN", "JP", "BR", "NL", "SE", "ES"}
	for i := range users {
		upn := fmt.Sprintf("user%06d@contoso.com", i)
		u := &licv1.UserLicense{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("user%06d", i), Generation: 1, UID: types.UID("uid-" + upn),
				Labels: map[string]string{
					"kind":  "employee",
					"dept":  fmt.Sprintf("d%02d", r.IntN(24)),
					"site":  fmt.Sprintf("s%02d", r.IntN(25)),
					"level": fmt.Sprintf("l%d", r.IntN(5)),
				},
			},
			Spec: licv1.UserLicenseSpec{UserPrincipalName: upn, UsageLocation: locations[r.IntN(len(locations))]},
		}
		if r.IntN(10) < 7 {
			u.Labels["team"] = fmt.Sprintf("t%03d", r.IntN(200))
		}
		switch x := r.IntN(1000); {
		case x < 3:
			u.Spec.UsageLocation = ""
		case x < 13:
			u.Spec.UsageLocation = "CN"
		case x < 60:
			u.Labels["kind"] = "contractor"
		}
		if r.IntN(10) == 0 {
			if r.IntN(4) == 0 {
				u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: "m365-e5"}}
			} else {
				u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: addon(), DisabledPlans: nil}}
			}
		}
		for range 2 + r.IntN(4)/3 { // 2.25 on average
			k := r.IntN(250)
			explicit[k] = append(explicit[k], upn)
		}
		in.Users = append(in.Users, u)
	}
	for k := range 250 {
		// Explicit groups assign the suite (with their own disabled plans) or an add-on.
		a := licv1.LicenseAssignment{SKU: addon()}
		if k%5 < 2 {
			a = licv1.LicenseAssignment{SKU: "m365-e3", DisabledPlans: []string{e3Plans[k%len(e3Plans)], e3Plans[(k+5)%len(e3Plans)]}}
		}
		in.Groups = append(in.Groups, g(fmt.Sprintf("proj-%03d", k), int32(k%10), nil, explicit[k], a))
	}

	// Seats: ~70% of demand for E5 and eight add-ons (two of them
	// popular), 120% for the rest.
	scarce := map[string]bool{"m365-e5": true, "addon-01": true, "addon-03": true, "addon-05": true,
		"addon-08": true, "addon-13": true, "addon-21": true, "addon-34": true, "addon-44": true}
	demand := Plan(in)
	for i, s := range in.SKUs {
		req := demand.SKUs[i].Status.Requested
		seats := req*6/5 + 10
		if scarce[s.Name] {
			seats = req * 7 / 10
		}
		s.Spec.Subscriptions[0].Seats = seats - seats/10
		s.Spec.Subscriptions[1].Seats = seats / 10
	}
	return in
}

// converged plans the tenant and writes the statuses back as independent
// copies (as read from the API server), so that planning it again finds
// nothing to change.
func converged(in Input) Input {
	res := Plan(in)
	out := Input{Now: metav1.NewTime(in.Now.Add(time.Hour))}
	for i, s := range in.SKUs {
		c := s.DeepCopy()
		c.Status = *res.SKUs[i].Status.DeepCopy()
		out.SKUs = append(out.SKUs, c)
	}
	for i, g := range in.Groups {
		c := g.DeepCopy()
		c.Status = *res.Groups[i].Status.DeepCopy()
		out.Groups = append(out.Groups, c)
	}
	for i, u := range in.Users {
		c := u.DeepCopy()
		c.Status = *res.Users[i].Status.DeepCopy()
		out.Users = append(out.Users, c)
	}
	return out
}

var benchTenants = map[int][2]Input{}

func benchTenant(b *testing.B, users int) (cold, steady Input) {
	b.Helper()
	if t, ok := benchTenants[users]; ok {
		return t[0], t[1]
	}
	cold = genBenchTenant(users, 1)
	steady = converged(cold)
	for i, r := range Plan(steady).Users {
		if r.Changed {
			b.Fatalf("benchmark tenant does not converge: user %d", i)
		}
	}
	benchTenants[users] = [2]Input{cold, steady}
	return cold, steady
}

// BenchmarkPlan measures a cold plan (no status yet: every status is new)
// and a steady-state re-plan (statuses converged: nothing to write) of
// the generated tenant.
func BenchmarkPlan(b *testing.B) {
	for _, mode := range []string{"cold", "steady"} {
		for _, n := range []int{10_000, 50_000, 100_000} {
			b.Run(fmt.Sprintf("%s/users=%d", mode, n), func(b *testing.B) {
				cold, steady := benchTenant(b, n)
				in := cold
				if mode == "steady" {
					in = steady
				}
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				for b.Loop() {
					Plan(in)
				}
				// CPU time (all threads, the garbage collector included)
				// varies less than wall time on a loaded machine.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}

// TestBenchStatusSize reports the average size in bytes (JSON) of a
// converged user status of the benchmark tenant: what the API server and
// the cache pay for per user.
func TestBenchStatusSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-user tenant")
	}
	in := genBenchTenant(10_000, 1)
	res := Plan(in)
	total := 0
	for _, r := range res.Users {
		b, err := json.Marshal(r.Status)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	t.Logf("average user status: %d bytes (JSON) over %d users", total/len(res.Users), len(res.Users))
}

// TestBenchTenantShape keeps the benchmark honest: it must have the
// advertised shape (memberships, licenses, scarce SKUs, failures).
func TestBenchTenantShape(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10,000-user tenant")
	}
	in := genBenchTenant(10_000, 1)
	res := Plan(in)
	var memberships, selectorMemberships, licenses, sources, active int
	reasons := map[string]int{}
	dupPlans := 0
	for _, r := range res.Users {
		memberships += len(r.Status.Groups)
		licenses += len(r.Status.Licenses)
		for _, l := range r.Status.Licenses {
			sources += len(l.AssignedBy)
			if l.State == licv1.LicenseStateActive {
				active++
			}
			reasons[l.Reason]++
		}
		if condition(r.Status.Conditions, licv1.ConditionDuplicatePlans).Status == metav1.ConditionTrue {
			dupPlans++
		}
	}
	for i, g := range in.Groups {
		if g.Spec.MemberSelector != nil {
			selectorMemberships += int(res.Groups[i].Status.Members)
		}
	}
	scarce := 0
	for _, r := range res.SKUs {
		if r.Status.Waiting > 0 {
			scarce++
		}
	}
	n := float64(len(in.Users))
	t.Logf("per user: %.2f groups (%.0f%% by selector), %.2f licenses, %.2f sources per license; %.1f%% Active; reasons %v; %d users with duplicate plans; %d scarce SKUs",
		float64(memberships)/n, 100*float64(selectorMemberships)/float64(memberships), float64(licenses)/n,
		float64(sources)/float64(licenses), 100*float64(active)/float64(licenses), reasons, dupPlans, scarce)
	if m := float64(memberships) / n; m < 4.5 || m > 6 {
		t.Errorf("%.2f memberships per user, want ~5", m)
	}
	if s := float64(selectorMemberships) / float64(memberships); s < 0.4 || s > 0.6 {
		t.Errorf("%.0f%% memberships by selector, want about half", 100*s)
	}
	if scarce < 5 {
		t.Errorf("only %d SKUs short of seats", scarce)
	}
	for _, r := range []string{licv1.ReasonInsufficientSeats, licv1.ReasonMissingDependency, licv1.ReasonMutuallyExclusivePlans,
		licv1.ReasonProhibitedInUsageLocation, licv1.ReasonUsageLocationRequired} {
		if reasons[r] == 0 {
			t.Errorf("no %s in the benchmark tenant", r)
		}
	}
}
