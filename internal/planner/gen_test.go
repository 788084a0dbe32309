package planner

import (
	"fmt"
	"math/rand/v2"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// chooser makes the choices of the tenant generator: a seeded random
// source for property tests, fuzz bytes for FuzzPlan.
type chooser interface {
	intn(n int) int
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return c.r.IntN(n)
}

func seeded(seed uint64) chooser {
	return randChooser{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// byteChooser reads choices from fuzz input; once it runs out every choice is 0.
type byteChooser struct {
	b []byte
	i int
}

func (c *byteChooser) intn(n int) int {
	if n <= 1 || c.i >= len(c.b) {
		return 0
	}
	v := int(c.b[c.i])
	c.i++
	if n > 256 && c.i < len(c.b) {
		v = v<<8 | int(c.b[c.i])
		c.i++
	}
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.intn(len(xs))] }

func chance(c chooser, percent int) bool { return c.intn(100) < percent }

// Small pools make collisions (shared plans, duplicate names, conflicts)
// frequent.
var (
	genPlans     = []string{"P0", "P1", "P2", "P3", "P4", "P5", "P6", "P7"}
	genSKUNames  = []string{"sa", "sb", "sc", "sd", "se"}
	genUPNs      = []string{"u0@x.io", "u1@x.io", "u2@x.io", "u3@x.io", "u4@x.io", "u5@x.io", "u6@x.io", "u7@x.io", "u8@x.io", "u9@x.io", "ua@x.io", "ub@x.io", "uc@x.io", "ud@x.io"}
	genLocations = []string{"", "DE", "CN", "US"}
	genStates    = []licv1.SubscriptionState{"", licv1.SubscriptionEnabled, licv1.SubscriptionWarning, licv1.SubscriptionSuspended, licv1.SubscriptionLockedOut}
	genReasons   = []string{licv1.ReasonInsufficientSeats, licv1.ReasonInsufficientSeats, licv1.ReasonSkuNotFound, licv1.ReasonMutuallyExclusivePlans, licv1.ReasonMissingDependency}
	genBase      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// mixCase returns s with some letters upper-cased (Entra UPNs compare
// case-insensitively, and people type them every way).
func mixCase(c chooser, s string) string {
	if !chance(c, 25) {
		return s
	}
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' && chance(c, 40) {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// genTime returns a whole-second time, as the API server stores them.
func genTime(c chooser) metav1.Time {
	return metav1.NewTime(genBase.Add(time.Duration(c.intn(100)) * time.Hour))
}

func subset(c chooser, pool []string, percent int) []string {
	var out []string
	for _, x := range pool {
		if chance(c, percent) {
			out = append(out, x)
		}
	}
	return out
}

// genTenant builds a small random namespace, including invalid input the
// API server would refuse (duplicate names, unknown states, both
// enabledPlans and disabledPlans) and random current statuses.
func genTenant(c chooser) Input {
	var in Input
	uid := 0
	nextUID := func() types.UID { uid++; return types.UID(fmt.Sprintf("uid-%04d", uid)) }

	known := map[string][]string{}
	nSKUs := 1 + c.intn(5)
	if chance(c, 5) {
		nSKUs = 0
	}
	for range nSKUs {
		s := &licv1.LicenseSku{ObjectMeta: metav1.ObjectMeta{Name: pick(c, genSKUNames...), UID: nextUID(), Generation: int64(1 + c.intn(3))}}
		s.Spec.SkuPartNumber = pick(c, "", "PART_A", "PART_B")
		for k := range 1 + c.intn(3) {
			s.Spec.Subscriptions = append(s.Spec.Subscriptions, licv1.Subscription{
				Name: fmt.Sprintf("sub%d", k), Seats: int64(c.intn(5)), State: pick(c, append(genStates, "Bogus")...),
			})
		}
		for _, p := range subset(c, genPlans, 35) {
			sp := licv1.ServicePlan{Name: p}
			if chance(c, 15) {
				sp.Requires = subset(c, append(genPlans, "PX"), 15)
			}
			if chance(c, 25) {
				sp.ConflictsWith = subset(c, genPlans, 20)
			}
			if chance(c, 15) {
				sp.UnavailableIn = subset(c, genLocations[1:], 40)
			}
			s.Spec.ServicePlans = append(s.Spec.ServicePlans, sp)
		}
		for _, sp := range s.Spec.ServicePlans {
			known[s.Name] = append(known[s.Name], sp.Name)
		}
		if chance(c, 10) {
			s.Status.Seats = 99
			s.Status.Conditions = []metav1.Condition{{Type: licv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Old", LastTransitionTime: genTime(c)}}
		}
		in.SKUs = append(in.SKUs, s)
	}
	if chance(c, 5) {
		in.SKUs = append(in.SKUs, nil)
	}

	for range c.intn(5) {
		g := &licv1.LicenseGroup{ObjectMeta: metav1.ObjectMeta{Name: pick(c, "g1", "g2", "g3", "g4"), UID: nextUID(), Generation: int64(1 + c.intn(3))}}
		g.Spec.Priority = int32(pick(c, -1, 0, 0, 1, 5))
		for _, m := range subset(c, append(genUPNs, "ghost@x.io"), 20) {
			g.Spec.Members = append(g.Spec.Members, mixCase(c, m))
		}
		switch c.intn(8) {
		case 0:
			g.Spec.MemberSelector = &metav1.LabelSelector{}
		case 1, 2:
			g.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"dept": pick(c, "x", "y")}}
		case 3:
			g.Spec.MemberSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key:      pick(c, "dept", "site"),
				Operator: pick(c, metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist),
				Values:   subset(c, []string{"x", "y", "berlin"}, 50),
			}}}
		case 4:
			g.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "x", "also bad!": "y"}}
		case 5:
			g.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"dept": pick(c, "x", "y"), "site": "berlin"}}
		}
		for range c.intn(4) {
			g.Spec.Licenses = append(g.Spec.Licenses, genAssignment(c, known))
		}
		if chance(c, 10) {
			g.Status.Members = 42
		}
		in.Groups = append(in.Groups, g)
	}

	for range c.intn(15) {
		u := &licv1.UserLicense{ObjectMeta: metav1.ObjectMeta{
			Name: pick(c, "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"), UID: nextUID(), Generation: int64(1 + c.intn(3)),
		}}
		u.Spec.UserPrincipalName = mixCase(c, pick(c, genUPNs...))
		if chance(c, 15) {
			u.Spec.UserPrincipalName = mixCase(c, "dup@x.io")
		}
		if chance(c, 50) {
			u.CreationTimestamp = genTime(c)
		}
		if chance(c, 10) {
			// A status saying it lost its userPrincipalName last time.
			u.Status.Conditions = []metav1.Condition{{Type: licv1.ConditionReady, Status: metav1.ConditionFalse,
				Reason: licv1.ReasonDuplicateUserPrincipalName, LastTransitionTime: genTime(c)}}
		}
		u.Spec.UsageLocation = pick(c, genLocations[1:]...)
		if chance(c, 10) {
			u.Spec.UsageLocation = ""
		}
		if chance(c, 70) {
			u.Labels = map[string]string{"dept": pick(c, "x", "y")}
			if chance(c, 30) {
				u.Labels["site"] = "berlin"
			}
		}
		for range c.intn(3) {
			u.Spec.Licenses = append(u.Spec.Licenses, genAssignment(c, known))
		}
		for _, s := range subset(c, append(genSKUNames, "zz"), 25) {
			l := licv1.LicenseStatus{SKU: s, State: licv1.LicenseStateActive, LastTransitionTime: genTime(c)}
			if chance(c, 10) {
				l.State, l.Reason, l.Message = licv1.LicenseStateDisabled, licv1.ReasonSubscriptionInactive, "old"
			}
			if chance(c, 35) {
				l.State = licv1.LicenseStateError
				l.Reason = pick(c, genReasons...)
				l.Message = "old"
				if l.Reason == licv1.ReasonInsufficientSeats && chance(c, 80) {
					w := genTime(c)
					l.WaitingSince = &w
				}
			}
			u.Status.Licenses = append(u.Status.Licenses, l)
		}
		in.Users = append(in.Users, u)
	}
	if chance(c, 5) {
		in.Users = append(in.Users, nil)
	}
	in.Now = metav1.NewTime(genBase.Add(200 * time.Hour))
	return in
}

// genAssignment assigns a SKU, mostly one of known (name -> plan names),
// mostly with plans that SKU has.
func genAssignment(c chooser, known map[string][]string) licv1.LicenseAssignment {
	names := sortedKeys(setOf(known))
	a := licv1.LicenseAssignment{SKU: pick(c, genSKUNames...)}
	if len(names) > 0 && chance(c, 85) {
		a.SKU = pick(c, names...)
	}
	if chance(c, 5) {
		a.SKU = "zz"
	}
	pool := known[a.SKU]
	if chance(c, 10) {
		pool = append(pool, "NOPE")
	}
	switch c.intn(8) {
	case 0, 1:
		a.DisabledPlans = subset(c, pool, 30)
	case 2:
		a.EnabledPlans = subset(c, pool, 50)
	case 3:
		a.DisabledPlans = subset(c, pool, 20)
		a.EnabledPlans = subset(c, pool, 30)
	}
	return a
}

func setOf(m map[string][]string) map[string]struct{} {
	out := map[string]struct{}{}
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

// mutate changes a converged tenant the way admins do: seats, subscription
// states, membership, priorities, labels, locations, users coming and going.
func mutate(c chooser, in *Input) {
	known := map[string][]string{}
	for _, s := range in.SKUs {
		if s != nil {
			known[s.Name] = nil
			for _, sp := range s.Spec.ServicePlans {
				known[s.Name] = append(known[s.Name], sp.Name)
			}
		}
	}
	for range 1 + c.intn(3) {
		switch c.intn(9) {
		case 0, 1:
			if len(in.SKUs) > 0 {
				if s := in.SKUs[c.intn(len(in.SKUs))]; s != nil && len(s.Spec.Subscriptions) > 0 {
					sub := &s.Spec.Subscriptions[c.intn(len(s.Spec.Subscriptions))]
					sub.Seats = int64(c.intn(6))
					sub.State = pick(c, genStates...)
					s.Generation++
				}
			}
		case 2:
			if len(in.Groups) > 0 {
				if g := in.Groups[c.intn(len(in.Groups))]; g != nil {
					g.Spec.Members = subset(c, genUPNs, 30)
					g.Spec.Priority = int32(c.intn(7) - 3)
					g.Generation++
				}
			}
		case 3:
			if len(in.Users) > 0 {
				k := c.intn(len(in.Users))
				in.Users = append(in.Users[:k:k], in.Users[k+1:]...)
			}
		case 4:
			extra := genTenant(c)
			in.Users = append(in.Users, extra.Users...)
		case 5:
			if len(in.Users) > 0 {
				if u := in.Users[c.intn(len(in.Users))]; u != nil {
					u.Labels = map[string]string{"dept": pick(c, "x", "y")}
				}
			}
		case 6:
			if len(in.Users) > 0 {
				if u := in.Users[c.intn(len(in.Users))]; u != nil {
					u.Spec.UsageLocation = pick(c, genLocations...)
					u.Spec.Licenses = nil
					for range c.intn(3) {
						u.Spec.Licenses = append(u.Spec.Licenses, genAssignment(c, known))
					}
					u.Generation++
				}
			}
		case 7:
			if len(in.SKUs) > 0 {
				k := c.intn(len(in.SKUs))
				in.SKUs = append(in.SKUs[:k:k], in.SKUs[k+1:]...)
			}
		case 8:
			extra := genTenant(c)
			in.SKUs = append(in.SKUs, extra.SKUs...)
			in.Groups = append(in.Groups, extra.Groups...)
		}
	}
}
