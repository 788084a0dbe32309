package planner

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestKstatus reads the planner's statuses with kstatus (what Flux, kpt and
// cli-utils use): an object that needs a human to change some spec reads
// Failed (Stalled=True), one that waits for something that resolves by
// itself (a seat, a SKU still to be applied) reads InProgress, one whose
// every license is in effect reads Current, and any object whose spec
// changed since the plan reads InProgress.
func TestKstatus(t *testing.T) {
	exoConflict := func() *licv1.LicenseSku {
		return sku("exo-p1", "EXCHANGESTANDARD", 10, conflicts(plan("EXCHANGE_S_STANDARD"), "EXCHANGE_S_ENTERPRISE"))
	}
	e3 := func(seats int64) *licv1.LicenseSku {
		return sku("m365-e3", "SPE_E3", seats, plan("EXCHANGE_S_ENTERPRISE"), unavailable(plan("SWAY"), "CN"), plan("TEAMS1"))
	}
	copilot := func() *licv1.LicenseSku {
		return sku("copilot", "COPILOT", 10, requires(plan("COPILOT_CHAT"), "TEAMS1"))
	}
	tn := tenant{
		skus: []*licv1.LicenseSku{e3(5), exoConflict(), copilot(), sku("visio", "VISIO", 1),
			withSubs(sku("project", "PROJECT", 0), sub("main", 3, licv1.SubscriptionSuspended))},
		groups: []*licv1.LicenseGroup{
			group("staff", 0, members("ann@contoso.com"), lic("m365-e3")),
			group("visio-users", 0, members("vic@contoso.com", "val@contoso.com"), lic("visio")),
			group("typo", 0, members("ann@contoso.com"), licOff("m365-e3", "SWAYY")),
			withSelector(group("broken", 0, nil, lic("m365-e3")), matchLabels("bad key!", "x")),
		},
		users: []*licv1.UserLicense{
			user("ann@contoso.com"),                                          // E3 from staff (typo ignored): Current
			holding(user("vic@contoso.com"), "visio"),                        // holds visio: Current
			user("val@contoso.com"),                                          // waits for visio: InProgress
			withLocation(user("nol@contoso.com", lic("m365-e3")), ""),        // no usage location: Failed
			withLocation(user("cnu@contoso.com", lic("m365-e3")), "CN"),      // SWAY not in CN: Failed
			user("exo@contoso.com", lic("m365-e3"), lic("exo-p1")),           // conflicting plans: Failed
			user("dep@contoso.com", lic("copilot")),                          // no TEAMS1 anywhere: Failed
			user("gone@contoso.com", lic("e5")),                              // SKU not applied yet: InProgress
			holding(user("sus@contoso.com", lic("project")), "project"),      // Disabled: InProgress
			withName(user("ann@contoso.com", lic("visio")), "ann-duplicate"), // duplicate UPN: Failed
		},
	}
	o := run(t, tn.input(t1))
	want := map[string]status.Status{
		"user/ann": status.CurrentStatus, "user/vic": status.CurrentStatus, "user/val": status.InProgressStatus,
		"user/nol": status.FailedStatus, "user/cnu": status.FailedStatus, "user/exo": status.FailedStatus,
		"user/dep": status.FailedStatus, "user/gone": status.InProgressStatus, "user/sus": status.InProgressStatus,
		"user/ann-duplicate": status.FailedStatus,
		"group/staff":        status.CurrentStatus, "group/visio-users": status.InProgressStatus,
		"group/typo": status.FailedStatus, "group/broken": status.FailedStatus,
		"sku/m365-e3": status.CurrentStatus, "sku/visio": status.InProgressStatus, "sku/project": status.InProgressStatus,
	}
	check := func(key string, obj runtime.Object, gen int64) {
		t.Helper()
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		res, err := status.Compute(u)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if res.Status != want[key] {
			t.Errorf("%s reads %s (%s), want %s", key, res.Status, res.Message, want[key])
		}
		// A spec change not planned yet reads InProgress whatever the status.
		u.SetGeneration(gen + 1)
		if res, _ := status.Compute(u); res.Status != status.InProgressStatus {
			t.Errorf("%s with a newer generation reads %s", key, res.Status)
		}
	}
	for i, u := range o.in.Users {
		c := u.DeepCopy()
		c.Status = *o.res.Users[i].Status
		check("user/"+u.Name, c, u.Generation)
	}
	for i, g := range o.in.Groups {
		c := g.DeepCopy()
		c.Status = *o.res.Groups[i].Status
		check("group/"+g.Name, c, g.Generation)
	}
	for i, s := range o.in.SKUs {
		c := s.DeepCopy()
		c.Status = *o.res.SKUs[i].Status
		if _, ok := want["sku/"+s.Name]; ok {
			check("sku/"+s.Name, c, s.Generation)
		}
	}
	// Stalled is present only when True (kstatus and Flux read a False
	// Stalled as noise; Flux's convention is to remove it).
	for _, r := range o.res.Users {
		if c := condition(r.Status.Conditions, licv1.ConditionStalled); c.Status == metav1.ConditionFalse {
			t.Errorf("Stalled=False present: %+v", c)
		}
	}
}
