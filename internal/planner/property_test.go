package planner

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

const propertySeeds = 300

// TestPlanProperties checks every invariant on random tenants.
func TestPlanProperties(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			in := genTenant(seeded(seed))
			res := planUnmodified(t, in)
			checkInvariants(t, in, res)
			checkNoDuplicateEntries(t, res)
			checkIdempotent(t, in, res)
			checkPermutations(t, in, res, seed)
		})
	}
}

// TestPlanMutationSequences plans, applies and mutates random tenants many
// times over: the invariants (notably the seat invariant: holders above
// capacity only if they already were, and then no new grant) hold at
// every step, and every converged state is a fixed point.
func TestPlanMutationSequences(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := seeded(seed + 1_000_000)
			in := genTenant(c)
			for step := range 8 {
				res := Plan(in)
				checkInvariants(t, in, res)
				if t.Failed() {
					t.Fatalf("step %d", step)
				}
				in = applied(in, res, metav1.NewTime(in.Now.Add(time.Hour)))
				checkIdempotent(t, in, Plan(in))
				mutate(c, &in)
			}
		})
	}
}

// withWorkers runs fn with Plan splitting even tiny namespaces over n
// goroutines.
func withWorkers(n int, fn func()) {
	defer func(old, procs int) {
		minUsersPerWorker = old
		runtime.GOMAXPROCS(procs)
	}(minUsersPerWorker, runtime.GOMAXPROCS(n))
	minUsersPerWorker = 1
	fn()
}

// TestPlanParallel checks that planning with several workers gives
// exactly the sequential result and keeps every invariant (run it with
// -race too).
func TestPlanParallel(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		in := genTenant(seeded(seed))
		want := Plan(in)
		for _, n := range []int{2, 3, 5} {
			var got *Result
			withWorkers(n, func() { got = Plan(in) })
			checkInvariants(t, in, got)
			checkSameResult(t, want, got)
		}
	}
}

// checkSameResult checks that two plans of the same input are identical.
func checkSameResult(t *testing.T, want, got *Result) {
	t.Helper()
	for i := range want.Users {
		a, b := want.Users[i], got.Users[i]
		if !sameResult(a.Status, b.Status, a.Changed, b.Changed) || !slices.Equal(a.Releases, b.Releases) || !slices.Equal(a.Grants, b.Grants) {
			t.Fatalf("user %d differs:\n%s\n%s", i, js(a.Status), js(b.Status))
		}
	}
	for i := range want.Groups {
		if !sameResult(want.Groups[i].Status, got.Groups[i].Status, want.Groups[i].Changed, got.Groups[i].Changed) {
			t.Fatalf("group %d differs:\n%s\n%s", i, js(want.Groups[i].Status), js(got.Groups[i].Status))
		}
	}
	for i := range want.SKUs {
		if !sameResult(want.SKUs[i].Status, got.SKUs[i].Status, want.SKUs[i].Changed, got.SKUs[i].Changed) {
			t.Fatalf("sku %d differs:\n%s\n%s", i, js(want.SKUs[i].Status), js(got.SKUs[i].Status))
		}
	}
}

// TestPlanParallelMutationSequences runs the mutation sequences with
// several workers.
func TestPlanParallelMutationSequences(t *testing.T) {
	withWorkers(3, func() { TestPlanMutationSequences(t) })
}

// TestPlanStable checks rule 5 as a property: on converged random tenants,
// a held license is never released by a change to another user, by a
// group's priority, by a new assignment of the same user or by new users;
// only its own SKU, its own spec or its sources going away release it.
func TestPlanStable(t *testing.T) {
	changes := []struct {
		name string
		// change mutates the tenant and returns the Input.Users index of
		// the user it changed (whose own licenses may change), or -1.
		change func(c chooser, in *Input) int
	}{{
		name: "another user's spec and labels",
		change: func(c chooser, in *Input) int {
			if len(in.Users) == 0 {
				return -1
			}
			k := c.intn(len(in.Users))
			u := in.Users[k]
			if u == nil {
				return -1
			}
			u.Spec.UsageLocation = pick(c, genLocations...)
			u.Spec.Licenses = nil
			for range c.intn(3) {
				u.Spec.Licenses = append(u.Spec.Licenses, genAssignment(c, knownPlans(in)))
			}
			u.Labels = map[string]string{"dept": pick(c, "x", "y", "z")}
			u.Generation++
			return k
		},
	}, {
		name: "a group's priority",
		change: func(c chooser, in *Input) int {
			if len(in.Groups) > 0 {
				if g := in.Groups[c.intn(len(in.Groups))]; g != nil {
					g.Spec.Priority = int32(c.intn(21) - 10)
					g.Generation++
				}
			}
			return -1
		},
	}, {
		name: "a new assignment of the same user",
		change: func(c chooser, in *Input) int {
			if len(in.Users) > 0 {
				if u := in.Users[c.intn(len(in.Users))]; u != nil {
					a := genAssignment(c, knownPlans(in))
					for _, have := range u.Spec.Licenses {
						if have.SKU == a.SKU {
							return -1
						}
					}
					u.Spec.Licenses = append(u.Spec.Licenses, a)
					u.Generation++
				}
			}
			return -1 // even this user keeps what it holds
		},
	}, {
		name: "new users",
		change: func(c chooser, in *Input) int {
			for _, u := range genTenant(c).Users {
				if u != nil {
					u.Name += "-new"
					u.UID += "-new"
					u.CreationTimestamp = metav1.NewTime(in.Now.Add(time.Hour)) // newer than everyone
					u.Status = licv1.UserLicenseStatus{}
					in.Users = append(in.Users, u)
				}
			}
			return -1
		},
	}}
	for _, ch := range changes {
		t.Run(ch.name, func(t *testing.T) {
			checked := 0
			for seed := range uint64(propertySeeds) {
				c := seeded(seed + 2_000_000)
				in := converge(t, genTenant(c))
				before := Plan(in)
				changed := ch.change(c, &in)
				after := Plan(in)
				for i, u := range in.Users {
					if u == nil || i == changed || i >= len(before.Users) {
						continue
					}
					for _, l := range before.Users[i].Status.Licenses {
						if !holdsSeat(l.State) {
							continue
						}
						checked++
						if got := licenseIn(after.Users[i].Status, l.SKU); got == nil || !holdsSeat(got.State) {
							t.Errorf("seed %d: user %s lost %s: %+v", seed, u.Name, l.SKU, got)
						}
					}
				}
			}
			if checked < propertySeeds {
				t.Errorf("only %d held licenses checked: the generated tenants hold too little for this test to mean anything", checked)
			}
		})
	}
}

// converge plans and applies a tenant until its statuses stop changing.
func converge(t *testing.T, in Input) Input {
	t.Helper()
	for range 5 {
		res := Plan(in)
		changed := false
		for _, r := range res.Users {
			changed = changed || r.Changed
		}
		in = applied(in, res, metav1.NewTime(in.Now.Add(time.Minute)))
		if !changed {
			return in
		}
	}
	t.Fatalf("tenant does not converge")
	return in
}

func licenseIn(st *licv1.UserLicenseStatus, sku string) *licv1.LicenseStatus {
	for i := range st.Licenses {
		if st.Licenses[i].SKU == sku {
			return &st.Licenses[i]
		}
	}
	return nil
}

// knownPlans maps the tenant's SKU names to their plan names, for
// genAssignment.
func knownPlans(in *Input) map[string][]string {
	known := map[string][]string{}
	for _, s := range in.SKUs {
		if s != nil {
			known[s.Name] = nil
			for _, sp := range s.Spec.ServicePlans {
				known[s.Name] = append(known[s.Name], sp.Name)
			}
		}
	}
	return known
}

// planUnmodified plans in and checks that Plan modified none of its
// input: the cache shares interned lists between objects and the
// reconciler hands it the cache's objects without copies, so one in-place
// append in the planner would corrupt the cache.
func planUnmodified(t *testing.T, in Input) *Result {
	t.Helper()
	before := deepCopyInput(in)
	res := Plan(in)
	if !equality.Semantic.DeepEqual(before, in) {
		t.Fatalf("Plan modified its input")
	}
	// The result shares slices with the input: modifying the result must
	// not be needed for anything, but planning again must still agree.
	return res
}

func deepCopyInput(in Input) Input {
	out := Input{Now: in.Now}
	for _, s := range in.SKUs {
		out.SKUs = append(out.SKUs, s.DeepCopy())
	}
	for _, g := range in.Groups {
		out.Groups = append(out.Groups, g.DeepCopy())
	}
	for _, u := range in.Users {
		out.Users = append(out.Users, u.DeepCopy())
	}
	return out
}
