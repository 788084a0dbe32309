package planner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// reference is a naive, obviously-correct model of membership and
// requests, used to check the planner's indexed implementation.
type reference struct {
	winner   map[string]int                 // UPN -> Input.Users index
	groupsOf map[int][]int                  // user -> Input.Groups indices it is a member of
	requests map[int]map[string]*refRequest // user -> SKU name -> sources
	capacity map[string]int64               // SKU name (in effect) -> capacity
	sku      map[string]*licv1.LicenseSku   // SKU name -> object in effect
}

type refRequest struct {
	direct bool
	prio   int32
}

func newReference(in Input) *reference {
	ref := &reference{winner: map[string]int{}, groupsOf: map[int][]int{}, requests: map[int]map[string]*refRequest{}, capacity: map[string]int64{}}
	for i, u := range in.Users {
		if u == nil {
			continue
		}
		j, ok := ref.winner[u.Spec.UserPrincipalName]
		if !ok || compareObjects(u, in.Users[j]) < 0 {
			ref.winner[u.Spec.UserPrincipalName] = i
		}
	}
	best := map[string]*licv1.LicenseSku{}
	for _, s := range in.SKUs {
		if s != nil && (best[s.Name] == nil || compareObjects(s, best[s.Name]) < 0) {
			best[s.Name] = s
		}
	}
	for n, s := range best {
		ref.capacity[n], _, _ = capacity(&s.Spec)
	}
	ref.sku = best
	for i, u := range in.Users {
		if u == nil {
			continue
		}
		reqs := map[string]*refRequest{}
		ref.requests[i] = reqs
		get := func(s string) *refRequest {
			if reqs[s] == nil {
				reqs[s] = &refRequest{prio: minPriority}
			}
			return reqs[s]
		}
		for _, a := range u.Spec.Licenses {
			get(a.SKU).direct = true
		}
		if ref.winner[u.Spec.UserPrincipalName] != i {
			continue
		}
		for gi, g := range in.Groups {
			if g == nil || !naiveMember(g, u) {
				continue
			}
			ref.groupsOf[i] = append(ref.groupsOf[i], gi)
			for _, a := range g.Spec.Licenses {
				r := get(a.SKU)
				r.prio = max(r.prio, g.Spec.Priority)
			}
		}
	}
	return ref
}

func naiveMember(g *licv1.LicenseGroup, u *licv1.UserLicense) bool {
	if slices.Contains(g.Spec.Members, u.Spec.UserPrincipalName) {
		return true
	}
	if g.Spec.MemberSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(g.Spec.MemberSelector)
	return err == nil && sel.Matches(labels.Set(u.Labels))
}

// queueBefore reports whether request a gets a free seat before b.
func queueBefore(a, b *refRequest, upnA, upnB string) bool {
	if a.direct != b.direct {
		return a.direct
	}
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return upnA < upnB
}

// checkInvariants checks everything that must hold of any plan.
func checkInvariants(t *testing.T, in Input, res *Result) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
	}
	if len(res.SKUs) != len(in.SKUs) || len(res.Groups) != len(in.Groups) || len(res.Users) != len(in.Users) {
		t.Fatalf("result lengths %d/%d/%d for input %d/%d/%d", len(res.SKUs), len(res.Groups), len(res.Users), len(in.SKUs), len(in.Groups), len(in.Users))
	}
	ref := newReference(in)

	type seatCount struct{ active, grants, waiting, requested int64 }
	seats := map[string]*seatCount{}
	count := func(s string) *seatCount {
		if seats[s] == nil {
			seats[s] = &seatCount{}
		}
		return seats[s]
	}
	type queued struct {
		upn string
		req *refRequest
	}
	granted, waiting := map[string][]queued{}, map[string][]queued{}

	for i, u := range in.Users {
		r := res.Users[i]
		if u == nil {
			if r.Status != nil || r.Changed {
				fail("nil user %d has a result", i)
			}
			continue
		}
		st := r.Status
		checkCommon(t, fmt.Sprintf("user %s", u.Name), &u.Status, st, r.Changed, u.Generation, st.ObservedGeneration, st.Conditions)
		loser := ref.winner[u.Spec.UserPrincipalName] != i

		// Exactly one entry per requested SKU, sorted.
		var want, got []string
		for s := range ref.requests[i] {
			want = append(want, s)
		}
		slices.Sort(want)
		for _, l := range st.Licenses {
			got = append(got, l.SKU)
		}
		if !slices.Equal(got, want) {
			fail("user %s: licenses %v, want %v", u.Name, got, want)
		}
		var wantGroups []string
		for _, gi := range ref.groupsOf[i] {
			wantGroups = append(wantGroups, in.Groups[gi].Name)
		}
		slices.Sort(wantGroups)
		wantGroups = slices.Compact(wantGroups)
		if !equalStrings(st.Groups, wantGroups) {
			fail("user %s: groups %v, want %v", u.Name, st.Groups, wantGroups)
		}

		allActive := true
		curActive, newActive := map[string]bool{}, map[string]bool{}
		for _, l := range u.Status.Licenses {
			if l.State == licv1.LicenseStateActive {
				curActive[l.SKU] = true
			}
		}
		for _, l := range st.Licenses {
			checkEntry(t, u.Name, l)
			req := ref.requests[i][l.SKU]
			if req != nil && req.direct != slices.Contains(l.AssignedBy, licv1.SourceDirect) {
				fail("user %s %s: assignedBy %v, direct=%v", u.Name, l.SKU, l.AssignedBy, req.direct)
			}
			if loser && l.Reason != licv1.ReasonDuplicateUserPrincipalName {
				fail("user %s lost its UPN but %s is %s/%s", u.Name, l.SKU, l.State, l.Reason)
			}
			if _, exists := ref.capacity[l.SKU]; !loser && exists {
				c := count(l.SKU)
				c.requested++
				switch {
				case l.State == licv1.LicenseStateActive:
					c.active++
					newActive[l.SKU] = true
					if !curActive[l.SKU] {
						c.grants++
						granted[l.SKU] = append(granted[l.SKU], queued{u.Spec.UserPrincipalName, req})
					}
				case l.Reason == licv1.ReasonInsufficientSeats:
					c.waiting++
					waiting[l.SKU] = append(waiting[l.SKU], queued{u.Spec.UserPrincipalName, req})
					if curActive[l.SKU] {
						fail("user %s held %s but now waits for it", u.Name, l.SKU)
					}
				}
			}
			allActive = allActive && l.State == licv1.LicenseStateActive
		}
		ready := condition(st.Conditions, licv1.ConditionReady)
		if (ready.Status == metav1.ConditionTrue) != (allActive && !loser) {
			fail("user %s: Ready=%s with allActive=%v loser=%v", u.Name, ready.Status, allActive, loser)
		}
		if dp := condition(st.Conditions, licv1.ConditionDuplicatePlans); dp.Status == "Missing" {
			fail("user %s: no DuplicatePlans condition", u.Name)
		}
		var releases, grants []string
		for s := range curActive {
			if !newActive[s] {
				releases = append(releases, s)
			}
		}
		for s := range newActive {
			if !curActive[s] {
				grants = append(grants, s)
			}
		}
		slices.Sort(releases)
		slices.Sort(grants)
		if !slices.Equal(r.Releases, releases) || !slices.Equal(r.Grants, grants) {
			fail("user %s: releases/grants %v/%v, want %v/%v", u.Name, r.Releases, r.Grants, releases, grants)
		}
	}

	// Seats: a grant only below capacity, no idle seat while someone waits,
	// and every new grant ranks before every waiter.
	for i, s := range in.SKUs {
		r := res.SKUs[i]
		if s == nil {
			continue
		}
		st := r.Status
		checkCommon(t, "sku "+s.Name, &s.Status, st, r.Changed, s.Generation, st.ObservedGeneration, st.Conditions)
		if st.Available != max(st.Seats-st.Assigned, 0) {
			fail("sku %s: available %d with seats %d assigned %d", s.Name, st.Available, st.Seats, st.Assigned)
		}
		if st.Assigned > st.Seats && condition(st.Conditions, licv1.ConditionOverallocated).Status != metav1.ConditionTrue {
			fail("sku %s: overallocated without condition", s.Name)
		}
		if ref.sku[s.Name] != s {
			if st.Assigned != 0 || st.Requested != 0 || st.Waiting != 0 {
				fail("shadowed sku %s counts users", s.Name)
			}
			continue
		}
		cp := ref.capacity[s.Name]
		c := count(s.Name)
		if st.Assigned != c.active || st.Waiting != c.waiting || st.Requested != c.requested {
			fail("sku %s: assigned/waiting/requested %d/%d/%d, users say %d/%d/%d", s.Name, st.Assigned, st.Waiting, st.Requested, c.active, c.waiting, c.requested)
		}
		if c.grants > 0 && c.active > cp {
			fail("sku %s: %d new grants although %d holders exceed capacity %d", s.Name, c.grants, c.active, cp)
		}
		if c.waiting > 0 && c.active < cp {
			fail("sku %s: %d users wait while %d of %d seats are used", s.Name, c.waiting, c.active, cp)
		}
		for _, g := range granted[s.Name] {
			for _, w := range waiting[s.Name] {
				if queueBefore(w.req, g.req, w.upn, g.upn) {
					fail("sku %s: %s waits although it ranks before %s, who got a seat", s.Name, w.upn, g.upn)
				}
			}
		}
	}

	for i, g := range in.Groups {
		r := res.Groups[i]
		if g == nil {
			continue
		}
		st := r.Status
		checkCommon(t, "group "+g.Name, &g.Status, st, r.Changed, g.Generation, st.ObservedGeneration, st.Conditions)
		n := int32(0)
		for ui := range in.Users {
			if slices.Contains(ref.groupsOf[ui], i) {
				n++
			}
		}
		if st.Members != n || st.Licensed+st.Errors != st.Members {
			fail("group %s: members/licensed/errors %d/%d/%d, want %d members", g.Name, st.Members, st.Licensed, st.Errors, n)
		}
		if len(st.Failures) > licv1.MaxGroupFailures || !slices.IsSortedFunc(st.Failures, compareFailures) {
			fail("group %s: failures not bounded and sorted: %v", g.Name, st.Failures)
		}
		if st.Errors > 0 && len(st.Failures) == 0 {
			fail("group %s: %d errors but no failures", g.Name, st.Errors)
		}
		if len(st.UnresolvedMembers) > licv1.MaxUnresolvedMembers || !slices.IsSorted(st.UnresolvedMembers) {
			fail("group %s: unresolved not bounded and sorted: %v", g.Name, st.UnresolvedMembers)
		}
	}
}

// checkCommon checks what every status must satisfy: Changed is exact,
// an unchanged status is the input's own, observedGeneration is set on the
// status and its conditions, and the status survives a JSON round trip
// exactly (no empty slice where the API server would return none).
func checkCommon[T any](t *testing.T, what string, cur, desired *T, changed bool, gen, observed int64, conds []metav1.Condition) {
	t.Helper()
	if desired == nil {
		t.Fatalf("%s: nil status", what)
	}
	if same := equality.Semantic.DeepEqual(cur, desired); same == changed {
		t.Errorf("%s: Changed=%v but semantically equal=%v", what, changed, same)
	}
	if !changed && desired != cur {
		t.Errorf("%s: unchanged status is a copy", what)
	}
	if observed != gen {
		t.Errorf("%s: observedGeneration %d, generation %d", what, observed, gen)
	}
	if condition(conds, licv1.ConditionReady).Status == "Missing" {
		t.Errorf("%s: no Ready condition", what)
	}
	for _, c := range conds {
		if c.ObservedGeneration != gen || c.LastTransitionTime.IsZero() || c.Reason == "" {
			t.Errorf("%s: condition %+v", what, c)
		}
	}
	var back T
	roundTrip(desired, &back)
	if !equality.Semantic.DeepEqualWithNilDifferentFromEmpty(desired, &back) {
		b, _ := json.Marshal(desired)
		t.Errorf("%s: status changes in a JSON round trip: %s", what, b)
	}
}

// checkEntry checks one license entry on its own.
func checkEntry(t *testing.T, userName string, l licv1.LicenseStatus) {
	t.Helper()
	switch l.State {
	case licv1.LicenseStateActive:
		if l.Reason != "" || l.Message != "" || l.WaitingSince != nil {
			t.Errorf("user %s: Active %s with reason %q message %q waiting %v", userName, l.SKU, l.Reason, l.Message, l.WaitingSince)
		}
	case licv1.LicenseStateError:
		if l.Reason == "" || l.Message == "" {
			t.Errorf("user %s: Error %s without reason or message", userName, l.SKU)
		}
		if (l.WaitingSince != nil) != (l.Reason == licv1.ReasonInsufficientSeats) {
			t.Errorf("user %s: %s %s waitingSince %v", userName, l.SKU, l.Reason, l.WaitingSince)
		}
	default:
		t.Errorf("user %s: %s has state %q", userName, l.SKU, l.State)
	}
	if len(l.AssignedBy) == 0 || !slices.IsSorted(l.AssignedBy) || len(slices.Compact(slices.Clone(l.AssignedBy))) != len(l.AssignedBy) {
		t.Errorf("user %s: %s assignedBy %v", userName, l.SKU, l.AssignedBy)
	}
	if !slices.IsSorted(l.DisabledPlans) {
		t.Errorf("user %s: %s disabledPlans %v", userName, l.SKU, l.DisabledPlans)
	}
	if l.LastTransitionTime.IsZero() {
		t.Errorf("user %s: %s without lastTransitionTime", userName, l.SKU)
	}
}

// checkIdempotent plans the planner's own output again, later: nothing changes.
func checkIdempotent(t *testing.T, in Input, res *Result) {
	t.Helper()
	again := applied(in, res, metav1.NewTime(in.Now.Add(3600e9)))
	res2 := Plan(again)
	for i, r := range res2.Users {
		if r.Changed || r.Releases != nil || r.Grants != nil {
			t.Errorf("user %d changes on re-plan:\nbefore %s\nafter  %s", i, js(&again.Users[i].Status), js(r.Status))
		}
	}
	for i, r := range res2.Groups {
		if r.Changed {
			t.Errorf("group %d changes on re-plan:\nbefore %s\nafter  %s", i, js(&again.Groups[i].Status), js(r.Status))
		}
	}
	for i, r := range res2.SKUs {
		if r.Changed {
			t.Errorf("sku %d changes on re-plan:\nbefore %s\nafter  %s", i, js(&again.SKUs[i].Status), js(r.Status))
		}
	}
}

// checkPermutations plans shuffled copies of the input lists: every object
// gets the same result.
func checkPermutations(t *testing.T, in Input, res *Result, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	for range 3 {
		ps, pg, pu := r.Perm(len(in.SKUs)), r.Perm(len(in.Groups)), r.Perm(len(in.Users))
		shuffled := Input{Now: in.Now}
		for _, k := range ps {
			shuffled.SKUs = append(shuffled.SKUs, in.SKUs[k])
		}
		for _, k := range pg {
			shuffled.Groups = append(shuffled.Groups, in.Groups[k])
		}
		for _, k := range pu {
			shuffled.Users = append(shuffled.Users, in.Users[k])
		}
		res2 := Plan(shuffled)
		for j, k := range ps {
			if !sameResult(res.SKUs[k].Status, res2.SKUs[j].Status, res.SKUs[k].Changed, res2.SKUs[j].Changed) {
				t.Errorf("sku %d differs under permutation:\n%s\n%s", k, js(res.SKUs[k].Status), js(res2.SKUs[j].Status))
			}
		}
		for j, k := range pg {
			if !sameResult(res.Groups[k].Status, res2.Groups[j].Status, res.Groups[k].Changed, res2.Groups[j].Changed) {
				t.Errorf("group %d differs under permutation:\n%s\n%s", k, js(res.Groups[k].Status), js(res2.Groups[j].Status))
			}
		}
		for j, k := range pu {
			a, b := res.Users[k], res2.Users[j]
			if !sameResult(a.Status, b.Status, a.Changed, b.Changed) || !slices.Equal(a.Releases, b.Releases) || !slices.Equal(a.Grants, b.Grants) {
				t.Errorf("user %d differs under permutation:\n%s\n%s", k, js(a.Status), js(b.Status))
			}
		}
	}
}

func sameResult[T any](a, b *T, ca, cb bool) bool {
	return ca == cb && equality.Semantic.DeepEqualWithNilDifferentFromEmpty(a, b)
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkNoDuplicateEntries: no (user, sku) appears twice.
func checkNoDuplicateEntries(t *testing.T, res *Result) {
	t.Helper()
	for i, r := range res.Users {
		if r.Status == nil {
			continue
		}
		if !slices.IsSortedFunc(r.Status.Licenses, func(a, b licv1.LicenseStatus) int { return cmp.Compare(a.SKU, b.SKU) }) ||
			len(slices.CompactFunc(slices.Clone(r.Status.Licenses), func(a, b licv1.LicenseStatus) bool { return a.SKU == b.SKU })) != len(r.Status.Licenses) {
			t.Errorf("user %d: licenses not sorted and unique: %s", i, strings.TrimSpace(js(r.Status.Licenses)))
		}
	}
}
