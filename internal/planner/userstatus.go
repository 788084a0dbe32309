package planner

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// cond is the part of a condition the planner decides; the type is implied
// by its position, the time and generation are filled in when set.
type cond struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

// userResult computes the desired status of one user. It first checks
// whether the current status already is the desired one, without building
// anything, and builds a new status only when it is not.
func (w *worker) userResult(ui int32) UserResult {
	p := w.p
	u := &p.users[ui]
	obj := u.obj
	if obj == nil {
		return UserResult{}
	}
	cur := &obj.Status
	reqs := p.requests(u)

	failed := 0
	for i := range reqs {
		if !reqs[i].active() {
			failed++
		}
	}
	var ready cond
	switch {
	case u.loser(ui):
		ready = cond{metav1.ConditionFalse, licv1.ReasonDuplicateUserPrincipalName, p.msg(w.message(msgKey{r: reasonDuplicateUPN, a: u.winner}))}
	case failed == 0:
		ready = cond{metav1.ConditionTrue, licv1.ReasonAllLicensesActive, w.readyMessage(reqs, 0)}
	default:
		ready = cond{metav1.ConditionFalse, licv1.ReasonLicenseErrors, w.readyMessage(reqs, failed)}
	}
	dup := w.duplicatePlans(reqs)

	gen := obj.Generation
	active, requested := int32(len(reqs)-failed), int32(len(reqs))
	if cur.ObservedGeneration == gen &&
		cur.ActiveLicenses == active && cur.RequestedLicenses == requested &&
		w.sameLicenses(ui, cur.Licenses) &&
		p.sameGroups(ui, cur.Groups) &&
		conditionHolds(cur.Conditions, licv1.ConditionReady, ready, gen) &&
		conditionHolds(cur.Conditions, licv1.ConditionDuplicatePlans, dup, gen) {
		return UserResult{Status: cur}
	}

	st := &w.slabs.status.take(1)[0]
	st.ObservedGeneration = gen
	st.ActiveLicenses, st.RequestedLicenses = active, requested
	st.Licenses = w.slabs.lic.take(len(reqs))
	for i := range reqs {
		w.fillLicense(&st.Licenses[i], ui, &reqs[i])
	}
	st.Groups = w.groupNames(ui)
	if len(cur.Conditions) == 0 {
		// Common on a cold start: users in the same situation share one
		// (read-only) condition list.
		key := userConds{gen, ready, dup}
		st.Conditions = w.userConds[key]
		if st.Conditions == nil {
			st.Conditions = p.conditions(nil, gen, typed{licv1.ConditionReady, ready}, typed{licv1.ConditionDuplicatePlans, dup})
			w.userConds[key] = st.Conditions
		}
	} else {
		st.Conditions = p.conditions(cur.Conditions, gen,
			typed{licv1.ConditionReady, ready}, typed{licv1.ConditionDuplicatePlans, dup})
	}
	res := UserResult{Status: st, Changed: true}
	res.Releases, res.Grants = w.seatChanges(cur, reqs)
	return res
}

// userConds identifies the conditions of a user without prior conditions.
type userConds struct {
	gen        int64
	ready, dup cond
}

// groupNames returns the sorted, distinct names of the user's groups.
func (w *worker) groupNames(ui int32) []string {
	p := w.p
	gs := p.groupsOf(ui)
	n := 0
	for k, gi := range gs {
		if k == 0 || p.groups[gi].label != p.groups[gs[k-1]].label {
			n++
		}
	}
	out := w.slabs.str.take(n)
	n = 0
	for k, gi := range gs {
		if k == 0 || p.groups[gi].label != p.groups[gs[k-1]].label {
			out[n] = p.in.Groups[gi].Name
			n++
		}
	}
	return out
}

// sameGroups reports whether names is the user's group list.
func (p *planner) sameGroups(ui int32, names []string) bool {
	gs := p.groupsOf(ui)
	n := 0
	for k, gi := range gs {
		if k > 0 && p.groups[gi].label == p.groups[gs[k-1]].label {
			continue
		}
		if n == len(names) || names[n] != p.in.Groups[gi].Name {
			return false
		}
		n++
	}
	return n == len(names)
}

// sameLicenses reports whether cur is exactly the desired license list,
// comparing with the semantics of equality.Semantic.DeepEqual without
// building the desired entries. Times need no comparison: an entry whose
// state and reason are unchanged keeps its times.
func (w *worker) sameLicenses(ui int32, cur []licv1.LicenseStatus) bool {
	p := w.p
	u := &p.users[ui]
	reqs := p.requests(u)
	if len(reqs) != len(cur) {
		return false
	}
	for i := range reqs {
		r, l := &reqs[i], &cur[i]
		if p.current(u, r) != l { // also checks the SKU name
			return false
		}
		state, why, msg := p.outcome(r)
		if l.State != state || l.Reason != why || l.Message != msg ||
			(l.WaitingSince == nil) != (r.reason != reasonInsufficientSeats) ||
			l.SkuPartNumber != p.partNumber(r) ||
			!w.sameSources(ui, r, l.AssignedBy) ||
			!equalStrings(l.DisabledPlans, p.disabledPlans(r)) {
			return false
		}
	}
	return true
}

// outcome returns the state, reason and message of a decided request.
func (p *planner) outcome(r *request) (state, why, msg string) {
	if r.active() {
		return licv1.LicenseStateActive, "", ""
	}
	return licv1.LicenseStateError, r.reason.String(), p.msg(r.msg)
}

func (p *planner) partNumber(r *request) string {
	if s := p.skus[r.sku]; s != nil {
		return s.part
	}
	return ""
}

func (p *planner) disabledPlans(r *request) []string {
	if r.combo < 0 {
		return nil
	}
	return p.combo(r.combo).disabled
}

// fillLicense writes the desired entry of r into dst. Times are kept from
// the current entry when what they describe did not change.
func (w *worker) fillLicense(dst *licv1.LicenseStatus, ui int32, r *request) {
	p := w.p
	u := &p.users[ui]
	prev := p.current(u, r)
	*dst = licv1.LicenseStatus{
		SKU:           p.skuNames[r.sku],
		SkuPartNumber: p.partNumber(r),
		AssignedBy:    w.assignedBy(ui, r),
		DisabledPlans: p.disabledPlans(r),
	}
	dst.State, dst.Reason, dst.Message = p.outcome(r)
	if r.reason == reasonInsufficientSeats {
		if prev != nil && prev.State == licv1.LicenseStateError && prev.Reason == licv1.ReasonInsufficientSeats && prev.WaitingSince != nil {
			dst.WaitingSince = prev.WaitingSince
		} else {
			dst.WaitingSince = p.nowPtr
		}
	}
	if prev != nil && prev.State == dst.State && prev.Reason == dst.Reason {
		dst.LastTransitionTime = prev.LastTransitionTime
	} else {
		dst.LastTransitionTime = p.now
	}
}

// seatChanges returns the SKUs the user holds now and will not hold, and
// the reverse, sorted.
func (w *worker) seatChanges(cur *licv1.UserLicenseStatus, reqs []request) (releases, grants []string) {
	p := w.p
	for i := range cur.Licenses {
		l := &cur.Licenses[i]
		if l.State != licv1.LicenseStateActive {
			continue
		}
		k, found := slices.BinarySearchFunc(reqs, l.SKU, func(r request, name string) int {
			return strings.Compare(p.skuNames[r.sku], name)
		})
		if !found || !reqs[k].active() {
			releases = append(releases, l.SKU)
		}
	}
	slices.Sort(releases)
	releases = slices.Compact(releases)
	var key [4]int32
	n := 0
	for i := range reqs {
		if reqs[i].active() && !reqs[i].held() {
			if n < len(key) {
				key[n] = reqs[i].sku + 1
			}
			n++
		}
	}
	if n == 0 {
		return releases, nil
	}
	if n <= len(key) {
		// Users granted the same SKUs share the list (cold starts).
		if g, ok := w.grantLists[key]; ok {
			return releases, g
		}
	}
	grants = make([]string, 0, n)
	for i := range reqs {
		if reqs[i].active() && !reqs[i].held() {
			grants = append(grants, p.skuNames[reqs[i].sku])
		}
	}
	if n <= len(key) {
		w.grantLists[key] = grants
	}
	return releases, grants
}

// typed is a desired condition with its type.
type typed struct {
	typ string
	cond
}

// conditionHolds reports whether conds already has the desired condition
// at this generation (setting it again would change nothing).
func conditionHolds(conds []metav1.Condition, typ string, want cond, gen int64) bool {
	c := meta.FindStatusCondition(conds, typ)
	return c != nil && c.Status == want.status && c.Reason == want.reason &&
		c.Message == want.message && c.ObservedGeneration == gen
}

// conditions returns a copy of current with the desired conditions set by
// meta.SetStatusCondition, which keeps lastTransitionTime while the status
// does not change. Conditions of other types are kept as they are.
func (p *planner) conditions(current []metav1.Condition, gen int64, want ...typed) []metav1.Condition {
	out := make([]metav1.Condition, len(current), len(current)+len(want))
	copy(out, current)
	for _, w := range want {
		meta.SetStatusCondition(&out, metav1.Condition{
			Type:               w.typ,
			Status:             w.status,
			Reason:             w.reason,
			Message:            w.message,
			ObservedGeneration: gen,
			LastTransitionTime: p.now,
		})
	}
	return out
}

// equalStrings compares string lists; nil equals empty.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The equal* functions compare statuses with the semantics of
// equality.Semantic.DeepEqual (nil equals empty, times compare as
// instants) without reflection; tests check them against it.

func equalConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Type != y.Type || x.Status != y.Status || x.ObservedGeneration != y.ObservedGeneration ||
			!x.LastTransitionTime.Time.Equal(y.LastTransitionTime.Time) || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}

func equalGroupStatus(a, b *licv1.LicenseGroupStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Members == b.Members &&
		a.Licensed == b.Licensed && a.Errors == b.Errors &&
		equalStrings(a.UnresolvedMembers, b.UnresolvedMembers) &&
		slices.Equal(a.Failures, b.Failures) &&
		equalConditions(a.Conditions, b.Conditions)
}

func equalSkuStatus(a, b *licv1.LicenseSkuStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Seats == b.Seats &&
		a.Assigned == b.Assigned && a.Requested == b.Requested && a.Waiting == b.Waiting &&
		a.Available == b.Available && equalConditions(a.Conditions, b.Conditions)
}
