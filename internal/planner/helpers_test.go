package planner

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Tiny constructors for literal tenants in table tests.

var (
	t0 = metav1.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t1 = metav1.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 = metav1.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

// plan builds a service plan; use requires/conflicts/unavailable to refine it.
func plan(name string) licv1.ServicePlan { return licv1.ServicePlan{Name: name} }

func requires(p licv1.ServicePlan, names ...string) licv1.ServicePlan {
	p.Requires = names
	return p
}

func conflicts(p licv1.ServicePlan, names ...string) licv1.ServicePlan {
	p.ConflictsWith = names
	return p
}

func unavailable(p licv1.ServicePlan, locs ...string) licv1.ServicePlan {
	p.UnavailableIn = locs
	return p
}

// plans builds plain service plans.
func plans(names ...string) []licv1.ServicePlan {
	out := make([]licv1.ServicePlan, len(names))
	for i, n := range names {
		out[i] = plan(n)
	}
	return out
}

// sku builds a LicenseSku with one Enabled subscription of the given seats.
func sku(name, part string, seats int64, sps ...licv1.ServicePlan) *licv1.LicenseSku {
	return &licv1.LicenseSku{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec: licv1.LicenseSkuSpec{
			SkuPartNumber: part,
			Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats, State: licv1.SubscriptionEnabled}},
			ServicePlans:  sps,
		},
	}
}

// withSubs replaces the subscriptions of s.
func withSubs(s *licv1.LicenseSku, subs ...licv1.Subscription) *licv1.LicenseSku {
	s.Spec.Subscriptions = subs
	return s
}

func sub(name string, seats int64, state licv1.SubscriptionState) licv1.Subscription {
	return licv1.Subscription{Name: name, Seats: seats, State: state}
}

// lic assigns a SKU with every plan.
func lic(skuName string) licv1.LicenseAssignment { return licv1.LicenseAssignment{SKU: skuName} }

func licOff(skuName string, disabled ...string) licv1.LicenseAssignment {
	return licv1.LicenseAssignment{SKU: skuName, DisabledPlans: disabled}
}

func licOnly(skuName string, enabled ...string) licv1.LicenseAssignment {
	return licv1.LicenseAssignment{SKU: skuName, EnabledPlans: enabled}
}

// user builds a UserLicense named after the local part of its UPN, in DE.
func user(upn string, direct ...licv1.LicenseAssignment) *licv1.UserLicense {
	name := upn
	for i := range upn {
		if upn[i] == '@' {
			name = upn[:i]
			break
		}
	}
	return &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       licv1.UserLicenseSpec{UserPrincipalName: upn, UsageLocation: "DE", Licenses: direct},
	}
}

func withLabels(u *licv1.UserLicense, kv ...string) *licv1.UserLicense {
	u.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		u.Labels[kv[i]] = kv[i+1]
	}
	return u
}

func withLocation(u *licv1.UserLicense, loc string) *licv1.UserLicense {
	u.Spec.UsageLocation = loc
	return u
}

func withName(u *licv1.UserLicense, name string) *licv1.UserLicense {
	u.Name = name
	return u
}

// holding gives u a current status holding the SKUs Active, as if an
// earlier plan had granted them.
func holding(u *licv1.UserLicense, skus ...string) *licv1.UserLicense {
	for _, s := range skus {
		u.Status.Licenses = append(u.Status.Licenses, licv1.LicenseStatus{
			SKU: s, State: licv1.LicenseStateActive, LastTransitionTime: t0,
		})
	}
	return u
}

// group builds a LicenseGroup with explicit members.
func group(name string, priority int32, members []string, licenses ...licv1.LicenseAssignment) *licv1.LicenseGroup {
	return &licv1.LicenseGroup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       licv1.LicenseGroupSpec{Members: members, Licenses: licenses, Priority: priority},
	}
}

func withSelector(g *licv1.LicenseGroup, sel *metav1.LabelSelector) *licv1.LicenseGroup {
	g.Spec.MemberSelector = sel
	return g
}

func matchLabels(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func members(upns ...string) []string { return upns }

// tenant is a literal namespace for table tests.
type tenant struct {
	skus   []*licv1.LicenseSku
	groups []*licv1.LicenseGroup
	users  []*licv1.UserLicense
}

func (tn tenant) input(now metav1.Time) Input {
	return Input{SKUs: tn.skus, Groups: tn.groups, Users: tn.users, Now: now}
}

// outcome wraps a Plan result with lookups by name.
type outcome struct {
	t   *testing.T
	in  Input
	res *Result
}

func run(t *testing.T, in Input) outcome {
	t.Helper()
	return outcome{t: t, in: in, res: Plan(in)}
}

func (o outcome) user(name string) *licv1.UserLicenseStatus {
	o.t.Helper()
	for i, u := range o.in.Users {
		if u != nil && u.Name == name {
			return o.res.Users[i].Status
		}
	}
	o.t.Fatalf("no user %q", name)
	return nil
}

func (o outcome) userResult(name string) UserResult {
	o.t.Helper()
	for i, u := range o.in.Users {
		if u != nil && u.Name == name {
			return o.res.Users[i]
		}
	}
	o.t.Fatalf("no user %q", name)
	return UserResult{}
}

func (o outcome) license(userName, skuName string) licv1.LicenseStatus {
	o.t.Helper()
	st := o.user(userName)
	for _, l := range st.Licenses {
		if l.SKU == skuName {
			return l
		}
	}
	o.t.Fatalf("user %s has no license %s; has %+v", userName, skuName, st.Licenses)
	return licv1.LicenseStatus{}
}

func (o outcome) sku(name string) *licv1.LicenseSkuStatus {
	o.t.Helper()
	for i, s := range o.in.SKUs {
		if s != nil && s.Name == name {
			return o.res.SKUs[i].Status
		}
	}
	o.t.Fatalf("no sku %q", name)
	return nil
}

func (o outcome) group(name string) *licv1.LicenseGroupStatus {
	o.t.Helper()
	for i, g := range o.in.Groups {
		if g != nil && g.Name == name {
			return o.res.Groups[i].Status
		}
	}
	o.t.Fatalf("no group %q", name)
	return nil
}

// applied returns a copy of the input with the desired statuses written
// back through a JSON round trip, as the API server would store them.
func applied(in Input, res *Result, now metav1.Time) Input {
	out := Input{Now: now}
	for i, s := range in.SKUs {
		if s == nil {
			out.SKUs = append(out.SKUs, nil)
			continue
		}
		c := s.DeepCopy()
		roundTrip(res.SKUs[i].Status, &c.Status)
		out.SKUs = append(out.SKUs, c)
	}
	for i, g := range in.Groups {
		if g == nil {
			out.Groups = append(out.Groups, nil)
			continue
		}
		c := g.DeepCopy()
		roundTrip(res.Groups[i].Status, &c.Status)
		out.Groups = append(out.Groups, c)
	}
	for i, u := range in.Users {
		if u == nil {
			out.Users = append(out.Users, nil)
			continue
		}
		c := u.DeepCopy()
		roundTrip(res.Users[i].Status, &c.Status)
		out.Users = append(out.Users, c)
	}
	return out
}

// roundTrip stores a JSON copy of from into to, which it zeroes first.
func roundTrip[T any](from *T, to *T) {
	var zero T
	*to = zero
	b, err := json.Marshal(from)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		panic(err)
	}
}

func condition(conds []metav1.Condition, typ string) metav1.Condition {
	for _, c := range conds {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{Type: typ, Status: "Missing"}
}
