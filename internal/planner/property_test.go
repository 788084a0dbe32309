package planner

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const propertySeeds = 300

// TestPlanProperties checks every invariant on random tenants.
func TestPlanProperties(t *testing.T) {
	for seed := range uint64(propertySeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			in := genTenant(seeded(seed))
			res := Plan(in)
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
