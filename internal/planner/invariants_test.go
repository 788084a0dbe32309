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

// reference is a naive, obviously-correct model of the rules of
// ../shared/DESIGN.md ("Semantics", rules 1-9), written without the
// planner's indexes, bitsets, interning or shortcuts (one global queue,
// fully sorted, walked again until a walk grants nothing), to check the
// planner's result against on small tenants.
type reference struct {
	now      metav1.Time
	sku      map[string]*licv1.LicenseSku // SKU name -> object in effect
	capacity map[string]int64
	inactive map[string]bool
	winner   map[string]int             // folded UPN -> Input.Users index
	groupsOf map[int][]string           // user -> names of its groups, sorted, distinct
	reqs     map[int]map[string]*refReq // user -> SKU name -> request
	held     map[string]int64           // SKU -> holders kept (rule 5)
	granted  map[string]int64           // SKU -> new grants (rule 6)
	released map[int]bool               // user -> rule 5 released one of its holdings
}

type refReq struct {
	user    int
	upn     string
	sku     string
	sources []string // assignedBy, sorted
	direct  bool     // a valid direct source
	prio    int32    // highest priority of the valid group sources
	plans   map[string]bool
	valid   bool // some source is valid
	reason  string
	held    bool // Active or Disabled in the current status
	wait    int64
	active  bool // holds a seat in the result
}

func newReference(in Input) *reference {
	ref := &reference{now: in.Now, sku: map[string]*licv1.LicenseSku{}, capacity: map[string]int64{}, inactive: map[string]bool{},
		winner: map[string]int{}, groupsOf: map[int][]string{}, reqs: map[int]map[string]*refReq{},
		held: map[string]int64{}, granted: map[string]int64{}, released: map[int]bool{}}
	if ref.now.IsZero() {
		ref.now = metav1.Unix(0, 0)
	}
	for _, s := range in.SKUs {
		if s != nil && (ref.sku[s.Name] == nil || compareObjects(s, ref.sku[s.Name]) < 0) {
			ref.sku[s.Name] = s
		}
	}
	for n, s := range ref.sku {
		usable := false
		for _, sub := range s.Spec.Subscriptions {
			if sub.State == "" || sub.State == licv1.SubscriptionEnabled || sub.State == licv1.SubscriptionWarning {
				usable = true
				ref.capacity[n] += max(sub.Seats, 0)
			}
		}
		ref.inactive[n] = len(s.Spec.Subscriptions) > 0 && !usable
	}

	// Rule 1: identity by folded UPN; the holder, else the one in effect at
	// the last plan, else the oldest, else the lowest name.
	holds := func(u *licv1.UserLicense) bool {
		for _, l := range u.Status.Licenses {
			if l.State == licv1.LicenseStateActive || l.State == licv1.LicenseStateDisabled {
				return true
			}
		}
		return false
	}
	lost := func(u *licv1.UserLicense) bool {
		return condition(u.Status.Conditions, licv1.ConditionReady).Reason == licv1.ReasonDuplicateUserPrincipalName
	}
	better := func(a, b *licv1.UserLicense) bool {
		if holds(a) != holds(b) {
			return holds(a)
		}
		if lost(a) != lost(b) {
			return lost(b)
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return compareObjects(a, b) < 0
	}
	for i, u := range in.Users {
		if u == nil {
			continue
		}
		upn := strings.ToLower(u.Spec.UserPrincipalName)
		if j, ok := ref.winner[upn]; !ok || better(u, in.Users[j]) {
			ref.winner[upn] = i
		}
	}

	// Rules 2-4: requests, valid sources, checks of one request alone.
	for i, u := range in.Users {
		if u == nil {
			continue
		}
		upn := strings.ToLower(u.Spec.UserPrincipalName)
		loser := ref.winner[upn] != i
		reqs := map[string]*refReq{}
		ref.reqs[i] = reqs
		unknown := map[string]bool{} // SKU -> some source names an unknown plan
		add := func(label string, prio int32, direct bool, a licv1.LicenseAssignment) {
			r := reqs[a.SKU]
			if r == nil {
				r = &refReq{user: i, upn: upn, sku: a.SKU, prio: minPriority, plans: map[string]bool{}}
				reqs[a.SKU] = r
			}
			if !slices.Contains(r.sources, label) {
				r.sources = append(r.sources, label)
			}
			s := ref.sku[a.SKU]
			if s == nil {
				return
			}
			has := map[string]bool{}
			for _, sp := range s.Spec.ServicePlans {
				has[sp.Name] = true
			}
			for _, n := range append(slices.Clone(a.EnabledPlans), a.DisabledPlans...) {
				if !has[n] {
					unknown[a.SKU] = true
					return // invalid source: ignored
				}
			}
			r.valid = true
			if direct {
				r.direct = true
			} else {
				r.prio = max(r.prio, prio)
			}
			for n := range has {
				if (len(a.EnabledPlans) == 0 || slices.Contains(a.EnabledPlans, n)) && !slices.Contains(a.DisabledPlans, n) {
					r.plans[n] = true
				}
			}
		}
		for _, a := range u.Spec.Licenses {
			add(licv1.SourceDirect, 0, true, a)
		}
		if !loser {
			for _, g := range in.Groups {
				if g == nil || !naiveMember(g, u) {
					continue
				}
				if !slices.Contains(ref.groupsOf[i], g.Name) {
					ref.groupsOf[i] = append(ref.groupsOf[i], g.Name)
				}
				for _, a := range g.Spec.Licenses {
					add(licv1.SourceGroupPrefix+g.Name, g.Spec.Priority, false, a)
				}
			}
			slices.Sort(ref.groupsOf[i])
		}
		for _, r := range reqs {
			slices.Sort(r.sources)
			for _, l := range u.Status.Licenses {
				if l.SKU != r.sku {
					continue
				}
				r.held = l.State == licv1.LicenseStateActive || l.State == licv1.LicenseStateDisabled
				if l.State == licv1.LicenseStateError && l.Reason == licv1.ReasonInsufficientSeats && l.WaitingSince != nil {
					r.wait = l.WaitingSince.UnixNano()
				} else {
					r.wait = ref.now.UnixNano()
				}
				break // the first entry of the SKU
			}
			if r.wait == 0 {
				r.wait = ref.now.UnixNano()
			}
			switch {
			case loser:
				r.reason = licv1.ReasonDuplicateUserPrincipalName
			case ref.sku[r.sku] == nil:
				r.reason = licv1.ReasonSkuNotFound
			case !r.valid:
				r.reason = licv1.ReasonUnknownServicePlan
			case u.Spec.UsageLocation == "":
				r.reason = licv1.ReasonUsageLocationRequired
			case ref.prohibited(r, u.Spec.UsageLocation):
				r.reason = licv1.ReasonProhibitedInUsageLocation
			}
		}
	}

	// Rule 5: holders keep, unless their own kept licenses lack a
	// requirement (those go) or conflict (the lower-ranked one goes),
	// until nothing changes.
	for ui, reqs := range ref.reqs {
		var kept []*refReq
		for _, r := range reqs {
			if r.reason == "" && r.held {
				kept = append(kept, r)
			}
		}
		slices.SortFunc(kept, refRank)
		acc := kept
		for {
			for changed := true; changed; {
				changed = false
				for k, r := range acc {
					if !ref.requiresMet(r, acc) {
						acc = slices.Delete(slices.Clone(acc), k, k+1)
						changed = true
						break
					}
				}
			}
			var next []*refReq
			for _, r := range acc {
				if !ref.conflictsWithAny(r, next) {
					next = append(next, r)
				}
			}
			if len(next) == len(acc) {
				break
			}
			acc = next
		}
		ref.released[ui] = len(acc) < len(kept)
		for _, r := range acc {
			r.active = true
			ref.held[r.sku]++
		}
	}

	// Rule 6: one queue; walk until a walk grants nothing.
	var queue []*refReq
	for _, reqs := range ref.reqs {
		for _, r := range reqs {
			if r.reason == "" && !r.active {
				queue = append(queue, r)
			}
		}
	}
	slices.SortFunc(queue, func(a, b *refReq) int {
		if a.direct != b.direct {
			if a.direct {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.prio, a.prio); c != 0 {
			return c
		}
		if c := cmp.Compare(a.wait, b.wait); c != 0 {
			return c
		}
		if c := cmp.Compare(a.upn, b.upn); c != 0 {
			return c
		}
		return cmp.Compare(a.sku, b.sku)
	})
	for granted := true; granted; {
		granted = false
		for _, r := range queue {
			if r.active || ref.capacity[r.sku]-ref.held[r.sku]-ref.granted[r.sku] <= 0 {
				continue
			}
			mine := ref.activeOf(r.user)
			if ref.conflictsWithAny(r, mine) || !ref.requiresMet(r, append(mine, r)) {
				continue
			}
			r.active = true
			ref.granted[r.sku]++
			granted = true
		}
	}

	// Rule 7: the first reason that holds.
	for _, r := range queue {
		if r.active {
			continue
		}
		mine := ref.activeOf(r.user)
		switch {
		case ref.conflictsWithAny(r, mine):
			r.reason = licv1.ReasonMutuallyExclusivePlans
		case !ref.requiresMet(r, append(mine, r)):
			r.reason = licv1.ReasonMissingDependency
		default:
			r.reason = licv1.ReasonInsufficientSeats
		}
	}
	return ref
}

// refRank orders one user's requests: direct, then priority, then name.
func refRank(a, b *refReq) int {
	if a.direct != b.direct {
		if a.direct {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.prio, a.prio); c != 0 {
		return c
	}
	return cmp.Compare(a.sku, b.sku)
}

func (ref *reference) activeOf(user int) []*refReq {
	var out []*refReq
	for _, r := range ref.reqs[user] {
		if r.active {
			out = append(out, r)
		}
	}
	return out
}

// planConflicts reports whether plans a and b are declared conflicting by
// a SKU in effect (either side).
func (ref *reference) planConflicts(a, b string) bool {
	if a == b {
		return false
	}
	for _, s := range ref.sku {
		for _, sp := range s.Spec.ServicePlans {
			if sp.Name == a && slices.Contains(sp.ConflictsWith, b) || sp.Name == b && slices.Contains(sp.ConflictsWith, a) {
				return true
			}
		}
	}
	return false
}

func (ref *reference) conflictsWithAny(r *refReq, others []*refReq) bool {
	for _, o := range others {
		if o == r {
			continue
		}
		for p := range r.plans {
			for q := range o.plans {
				if ref.planConflicts(p, q) {
					return true
				}
			}
		}
	}
	return false
}

// requiresMet reports whether every plan r's enabled plans require (as
// r's SKU defines them) is enabled by one of set.
func (ref *reference) requiresMet(r *refReq, set []*refReq) bool {
	for _, sp := range ref.sku[r.sku].Spec.ServicePlans {
		if !r.plans[sp.Name] {
			continue
		}
		for _, need := range sp.Requires {
			found := false
			for _, o := range set {
				found = found || o.plans[need]
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func (ref *reference) prohibited(r *refReq, loc string) bool {
	for _, sp := range ref.sku[r.sku].Spec.ServicePlans {
		if r.plans[sp.Name] && slices.Contains(sp.UnavailableIn, loc) {
			return true
		}
	}
	return false
}

func naiveMember(g *licv1.LicenseGroup, u *licv1.UserLicense) bool {
	for _, m := range g.Spec.Members {
		if strings.EqualFold(m, u.Spec.UserPrincipalName) {
			return true
		}
	}
	if g.Spec.MemberSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(g.Spec.MemberSelector)
	return err == nil && sel.Matches(labels.Set(u.Labels))
}

// refState is the state and reason a reference request ends in.
func (ref *reference) refState(r *refReq) (string, string) {
	switch {
	case !r.active:
		return licv1.LicenseStateError, r.reason
	case ref.inactive[r.sku]:
		return licv1.LicenseStateDisabled, licv1.ReasonSubscriptionInactive
	}
	return licv1.LicenseStateActive, ""
}

// checkInvariants checks a plan against the reference and everything that
// must hold of any plan.
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
		loser := ref.winner[strings.ToLower(u.Spec.UserPrincipalName)] != i

		// Exactly one entry per requested SKU, sorted, in the state and
		// with the reason the reference gives.
		var want, got []string
		for s := range ref.reqs[i] {
			want = append(want, s)
		}
		slices.Sort(want)
		for _, l := range st.Licenses {
			got = append(got, l.SKU)
		}
		if !slices.Equal(got, want) {
			fail("user %s: licenses %v, want %v", u.Name, got, want)
		}
		if wantGroups := ref.groupsOf[i][:min(len(ref.groupsOf[i]), licv1.MaxUserGroups)]; !equalStrings(st.Groups, wantGroups) {
			fail("user %s: groups %v, want %v", u.Name, st.Groups, ref.groupsOf[i])
		}
		curHeld, newHeld := map[string]bool{}, map[string]bool{}
		for _, l := range u.Status.Licenses {
			if holdsSeat(l.State) {
				curHeld[l.SKU] = true
			}
		}
		allActive := true
		for _, l := range st.Licenses {
			checkEntry(t, u.Name, l)
			req := ref.reqs[i][l.SKU]
			if req == nil {
				continue
			}
			if wantState, wantReason := ref.refState(req); l.State != wantState || l.Reason != wantReason {
				fail("user %s %s: %s/%s, the rules say %s/%s (message %q)", u.Name, l.SKU, l.State, l.Reason, wantState, wantReason, l.Message)
			}
			if !slices.Equal(l.AssignedBy, req.sources[:min(len(req.sources), licv1.MaxAssignedBy)]) {
				fail("user %s %s: assignedBy %v, want %v", u.Name, l.SKU, l.AssignedBy, req.sources)
			}
			if loser && l.Reason != licv1.ReasonDuplicateUserPrincipalName {
				fail("user %s lost its UPN but %s is %s/%s", u.Name, l.SKU, l.State, l.Reason)
			}
			if holdsSeat(l.State) {
				newHeld[l.SKU] = true
			}
			// Stable: a holder never loses its seat for somebody else's sake
			// (only its own licenses' conflicts and requirements can release
			// it, rule 5).
			if curHeld[l.SKU] && !ref.released[i] && !holdsSeat(l.State) && !failsAlone(l.Reason) {
				fail("user %s held %s but lost it: %s", u.Name, l.SKU, l.Reason)
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
		if sc := condition(st.Conditions, licv1.ConditionStalled); sc.Status != "Missing" && sc.Status != metav1.ConditionTrue {
			fail("user %s: Stalled present but %s", u.Name, sc.Status)
		}
		var releases, grants []string
		for s := range curHeld {
			if !newHeld[s] {
				releases = append(releases, s)
			}
		}
		for s := range newHeld {
			if !curHeld[s] {
				grants = append(grants, s)
			}
		}
		slices.Sort(releases)
		slices.Sort(grants)
		if !slices.Equal(r.Releases, releases) || !slices.Equal(r.Grants, grants) {
			fail("user %s: releases/grants %v/%v, want %v/%v", u.Name, r.Releases, r.Grants, releases, grants)
		}
		checkMaximal(t, in, res, i)
	}

	// Seats: counts agree with the users, a grant only below capacity.
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
		var holders, waiting, requested int64
		for ui, reqs := range ref.reqs {
			if ref.winner[strings.ToLower(in.Users[ui].Spec.UserPrincipalName)] != ui {
				continue
			}
			if q := reqs[s.Name]; q != nil {
				requested++
				if q.active {
					holders++
				} else if q.reason == licv1.ReasonInsufficientSeats {
					waiting++
				}
			}
		}
		if st.Assigned != holders || st.Waiting != waiting || st.Requested != requested {
			fail("sku %s: assigned/waiting/requested %d/%d/%d, the rules say %d/%d/%d", s.Name, st.Assigned, st.Waiting, st.Requested, holders, waiting, requested)
		}
		if g := ref.granted[s.Name]; g > 0 && st.Assigned > ref.capacity[s.Name] {
			fail("sku %s: %d new grants take it to %d holders above capacity %d", s.Name, g, st.Assigned, ref.capacity[s.Name])
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
		for ui, u := range in.Users {
			if u != nil && ref.winner[strings.ToLower(u.Spec.UserPrincipalName)] == ui && naiveMember(g, u) {
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

// failsAlone reports whether a reason is a check of one request alone (rule 4).
func failsAlone(reason string) bool {
	switch reason {
	case licv1.ReasonDuplicateUserPrincipalName, licv1.ReasonSkuNotFound, licv1.ReasonUnknownServicePlan,
		licv1.ReasonUsageLocationRequired, licv1.ReasonProhibitedInUsageLocation:
		return true
	}
	return false
}

// checkMaximal checks, from the result alone, that no license of user i
// that failed in the queue (rule 7) could have been granted on its own:
// its SKU had no free seat, or one of its plans conflicts with a plan the
// user holds, or a plan it requires is enabled neither by the user's held
// licenses nor by itself.
func checkMaximal(t *testing.T, in Input, res *Result, i int) {
	t.Helper()
	st := res.Users[i].Status
	skus := map[string]*licv1.LicenseSku{} // the SKUs in effect (lowest UID of a name)
	seatsFree := map[string]bool{}
	for k, s := range in.SKUs {
		if s != nil && (skus[s.Name] == nil || compareObjects(s, skus[s.Name]) < 0) {
			skus[s.Name] = s
			seatsFree[s.Name] = res.SKUs[k].Status.Assigned < res.SKUs[k].Status.Seats
		}
	}
	enabled := func(l licv1.LicenseStatus) []string {
		var out []string
		for _, sp := range skus[l.SKU].Spec.ServicePlans {
			if !slices.Contains(l.DisabledPlans, sp.Name) {
				out = append(out, sp.Name)
			}
		}
		return out
	}
	conflict := func(a, b string) bool {
		for _, s := range skus {
			for _, sp := range s.Spec.ServicePlans {
				if a != b && (sp.Name == a && slices.Contains(sp.ConflictsWith, b) || sp.Name == b && slices.Contains(sp.ConflictsWith, a)) {
					return true
				}
			}
		}
		return false
	}
	held := map[string]bool{}
	for _, l := range st.Licenses {
		if holdsSeat(l.State) && skus[l.SKU] != nil {
			for _, p := range enabled(l) {
				held[p] = true
			}
		}
	}
	for _, l := range st.Licenses {
		switch l.Reason {
		case licv1.ReasonInsufficientSeats, licv1.ReasonMutuallyExclusivePlans, licv1.ReasonMissingDependency:
		default:
			continue
		}
		if skus[l.SKU] == nil {
			continue
		}
		mine := enabled(l)
		conflicts := false
		for _, p := range mine {
			for q := range held {
				conflicts = conflicts || conflict(p, q)
			}
		}
		depsMet := true
		for _, sp := range skus[l.SKU].Spec.ServicePlans {
			if slices.Contains(mine, sp.Name) {
				for _, need := range sp.Requires {
					depsMet = depsMet && (held[need] || slices.Contains(mine, need))
				}
			}
		}
		if seatsFree[l.SKU] && !conflicts && depsMet {
			t.Errorf("user %s: %s fails with %s although a seat is free, nothing conflicts and its dependencies are met",
				in.Users[i].Name, l.SKU, l.Reason)
		}
		if want := l.Reason == licv1.ReasonMutuallyExclusivePlans; want != conflicts {
			t.Errorf("user %s: %s fails with %s but conflicts with a held license: %v", in.Users[i].Name, l.SKU, l.Reason, conflicts)
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
		if l.Reason != "" || l.WaitingSince != nil {
			t.Errorf("user %s: Active %s with reason %q message %q waiting %v", userName, l.SKU, l.Reason, l.Message, l.WaitingSince)
		}
	case licv1.LicenseStateDisabled:
		if l.Reason != licv1.ReasonSubscriptionInactive || l.Message == "" || l.WaitingSince != nil {
			t.Errorf("user %s: Disabled %s with reason %q message %q waiting %v", userName, l.SKU, l.Reason, l.Message, l.WaitingSince)
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
	if len(l.Message) > maxMessage {
		t.Errorf("user %s: %s message of %d bytes", userName, l.SKU, len(l.Message))
	}
	if len(l.AssignedBy) == 0 || len(l.AssignedBy) > licv1.MaxAssignedBy || !slices.IsSorted(l.AssignedBy) || len(slices.Compact(slices.Clone(l.AssignedBy))) != len(l.AssignedBy) {
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
