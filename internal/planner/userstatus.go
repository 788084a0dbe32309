package planner

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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

// absent is the desired state of a condition that must not be there
// (Stalled is present only when True, as Flux and kstatus expect).
var absent = cond{}

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

	notInEffect, failed := 0, 0
	for i := range reqs {
		switch p.state(&reqs[i]) {
		case licv1.LicenseStateError:
			failed++
			notInEffect++
		case licv1.LicenseStateDisabled:
			notInEffect++
		}
	}
	ready := w.userReady(ui, reqs, failed, notInEffect)
	dup := w.duplicatePlans(reqs)
	stalled := w.userStalled(ui, reqs)

	gen := obj.Generation
	active := int32(len(reqs) - notInEffect)
	requested := int32(len(reqs)) + u.unlisted
	if cur.ObservedGeneration == gen &&
		cur.ActiveLicenses == active && cur.RequestedLicenses == requested &&
		w.sameLicenses(ui, cur.Licenses) &&
		p.sameGroups(ui, cur.Groups) &&
		conditionHolds(cur.Conditions, licv1.ConditionReady, ready, gen) &&
		conditionHolds(cur.Conditions, licv1.ConditionDuplicatePlans, dup, gen) &&
		conditionHolds(cur.Conditions, licv1.ConditionStalled, stalled, gen) {
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
	want := []typed{{licv1.ConditionReady, ready}, {licv1.ConditionDuplicatePlans, dup}, {licv1.ConditionStalled, stalled}}
	if len(cur.Conditions) == 0 {
		// Common on a cold start: users in the same situation share one
		// (read-only) condition list.
		// Users with as many licenses mostly share them: the list used
		// last for that number is compared first (messages are interned,
		// so equal strings are mostly the same strings and compare
		// without reading them), before the map, which hashes them.
		key := userConds{gen, ready, dup, stalled}
		last := &w.lastConds[len(reqs)%len(w.lastConds)]
		if last.list != nil && last.key == key {
			st.Conditions = last.list
		} else {
			st.Conditions = w.userConds[key]
			if st.Conditions == nil {
				st.Conditions = p.conditions(nil, gen, want...)
				w.userConds[key] = st.Conditions
			}
			last.key, last.list = key, st.Conditions
		}
	} else {
		st.Conditions = p.conditions(cur.Conditions, gen, want...)
	}
	res := UserResult{Status: st, Changed: true}
	res.Releases, res.Grants = w.seatChanges(cur, reqs)
	return res
}

// userConds identifies the conditions of a user without prior conditions.
type userConds struct {
	gen                 int64
	ready, dup, stalled cond
}

// userReady is the Ready condition of a user: True when every license it
// requests is in effect.
func (w *worker) userReady(ui int32, reqs []request, failed, notInEffect int) cond {
	p := w.p
	u := &p.users[ui]
	var c cond
	switch {
	case u.loser(ui):
		c = cond{metav1.ConditionFalse, licv1.ReasonDuplicateUserPrincipalName, p.msg(w.message(msgDuplicateUPN(u.winner)))}
	case failed > 0:
		c = cond{metav1.ConditionFalse, licv1.ReasonLicenseErrors, w.readyMessage(reqs, notInEffect, int(u.unlisted))}
	case u.unlisted > 0:
		c = cond{metav1.ConditionFalse, licv1.ReasonTooManyLicenses, w.readyMessage(reqs, notInEffect, int(u.unlisted))}
	case notInEffect > 0:
		c = cond{metav1.ConditionFalse, licv1.ReasonLicensesDisabled, w.readyMessage(reqs, notInEffect, 0)}
	default:
		c = cond{metav1.ConditionTrue, licv1.ReasonAllLicensesActive, w.readyMessage(reqs, 0, 0)}
	}
	if n := len(p.groupsOf(ui)); n > licv1.MaxUserGroups && w.distinctGroups(ui) > licv1.MaxUserGroups {
		c.message = w.text(append(append([]byte(c.message), "; member of "...),
			strconv.Itoa(w.distinctGroups(ui))+" groups: status.groups lists the first "+strconv.Itoa(licv1.MaxUserGroups)...))
	}
	return c
}

// userStalled is the Stalled condition of a user: present, and True, when
// a license cannot take effect until some spec changes (the user's own, a
// group's or a SKU's): the first such license in SKU order decides the
// reason. Waiting for a seat is not stalled, nor is a missing SKU (another
// object that may still be applied).
func (w *worker) userStalled(ui int32, reqs []request) cond {
	p := w.p
	u := &p.users[ui]
	if u.loser(ui) {
		return cond{metav1.ConditionTrue, licv1.ReasonDuplicateUserPrincipalName, p.msg(w.message(msgDuplicateUPN(u.winner)))}
	}
	first, n := -1, 0
	for i := range reqs {
		if stalls(&reqs[i]) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if first < 0 {
		if u.unlisted > 0 {
			return cond{metav1.ConditionTrue, licv1.ReasonTooManyLicenses, w.unlistedMessage(int(u.unlisted))}
		}
		return absent
	}
	r := &reqs[first]
	b := append(w.scratch.text[:0], p.skuNames[r.sku]...)
	b = append(b, " cannot take effect until a spec changes: "...)
	b = append(b, p.msg(r.msg)...)
	if n > 1 {
		b = append(b, "; and "...)
		b = strconv.AppendInt(b, int64(n-1), 10)
		b = append(b, " more license"...)
		if n > 2 {
			b = append(b, 's')
		}
		b = append(b, " (see status.licenses)"...)
	}
	w.scratch.text = b
	return cond{metav1.ConditionTrue, r.reason.String(), w.text(b)}
}

// stalls reports whether a failed request needs a spec change to succeed.
func stalls(r *request) bool {
	switch r.reason {
	case reasonUnknownServicePlan, reasonUsageLocationRequired, reasonProhibitedInUsageLocation, reasonMutuallyExclusivePlans:
		return true
	case reasonMissingDependency:
		return r.flags&flagProviderWaits == 0
	}
	return false
}

// distinctGroups counts the user's groups by name.
func (w *worker) distinctGroups(ui int32) int {
	p := w.p
	gs := p.groupsOf(ui)
	n := 0
	for k, gi := range gs {
		if k == 0 || p.groups[gi].label != p.groups[gs[k-1]].label {
			n++
		}
	}
	return n
}

// groupNames returns the sorted, distinct names of the user's groups: the
// first MaxUserGroups.
func (w *worker) groupNames(ui int32) []string {
	p := w.p
	gs := p.groupsOf(ui)
	out := w.slabs.str.take(min(w.distinctGroups(ui), licv1.MaxUserGroups))
	n := 0
	for k, gi := range gs {
		if n == len(out) {
			break
		}
		if k == 0 || p.groups[gi].label != p.groups[gs[k-1]].label {
			out[n] = p.groups[gi].name
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
		if n == licv1.MaxUserGroups {
			break
		}
		if n == len(names) || names[n] != p.groups[gi].name {
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
		state := p.state(r)
		if l.State != state || l.Reason != p.reasonOf(r) || l.Message != w.licenseMessage(ui, r) ||
			(l.WaitingSince == nil) != (r.reason != reasonInsufficientSeats) ||
			l.SkuPartNumber != p.partNumber(r) ||
			!w.sameSources(ui, r, l.AssignedBy) ||
			!equalStrings(l.DisabledPlans, p.disabledPlans(r)) {
			return false
		}
	}
	return true
}

// state returns the state of a decided request: Active when it holds a
// seat of a SKU with a usable subscription, Disabled when it holds one of
// a SKU without, Error when it holds none.
func (p *planner) state(r *request) string {
	switch {
	case !r.active():
		return licv1.LicenseStateError
	case p.skus[r.sku].inactive:
		return licv1.LicenseStateDisabled
	}
	return licv1.LicenseStateActive
}

// reasonOf returns the status reason of a decided request.
func (p *planner) reasonOf(r *request) string {
	switch {
	case !r.active():
		return r.reason.String()
	case p.skus[r.sku].inactive:
		return licv1.ReasonSubscriptionInactive
	}
	return ""
}

// licenseMessage returns the message of a decided request: what failed
// and what to do, or why it is Disabled, followed by notes (a source that
// was ignored, more sources than assignedBy lists); at most maxMessage
// bytes.
func (w *worker) licenseMessage(ui int32, r *request) string {
	p := w.p
	base := int32(-1)
	switch {
	case !r.active():
		base = r.msg
	case p.skus[r.sku].inactive:
		base = p.skus[r.sku].inactiveMsg
	}
	sources := 0
	if int(r.nlabs) > licv1.MaxAssignedBy {
		_, sources = w.listedSources(ui, r)
	}
	if r.flags&flagNote == 0 && sources == 0 {
		if base < 0 {
			return ""
		}
		return p.msg(base)
	}
	note := int32(-1)
	if r.flags&flagNote != 0 {
		note = w.notes[noteKey(ui, r.sku)]
	}
	key := [3]int32{base, note, int32(sources)}
	if s, ok := w.composed[key]; ok {
		return s
	}
	var parts []string
	if base >= 0 {
		parts = append(parts, p.msg(base))
	}
	if note >= 0 {
		parts = append(parts, p.msg(note))
	}
	if sources > 0 {
		parts = append(parts, strconv.Itoa(sources)+" sources assign it: assignedBy lists the first "+strconv.Itoa(licv1.MaxAssignedBy))
	}
	s := truncate(strings.Join(parts, "; "), maxMessage)
	w.composed[key] = s
	return s
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
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

// fillLicense writes the desired entry of r into dst, which is zero (fresh
// from a slab): fields are set one by one rather than copied from a
// temporary. Times are kept from the current entry when what they
// describe did not change.
func (w *worker) fillLicense(dst *licv1.LicenseStatus, ui int32, r *request) {
	p := w.p
	u := &p.users[ui]
	prev := p.current(u, r)
	dst.SKU = p.skuNames[r.sku]
	dst.SkuPartNumber = p.partNumber(r)
	dst.State = p.state(r)
	dst.Reason = p.reasonOf(r)
	dst.Message = w.licenseMessage(ui, r)
	dst.AssignedBy = w.assignedBy(ui, r)
	dst.DisabledPlans = p.disabledPlans(r)
	if r.reason == reasonInsufficientSeats {
		if prev != nil && isWaiting(prev) && prev.WaitingSince != nil {
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

// isWaiting reports whether a status entry waits for a seat.
func isWaiting(l *licv1.LicenseStatus) bool {
	return l.State == licv1.LicenseStateError && l.Reason == licv1.ReasonInsufficientSeats
}

// seatChanges returns the SKUs the user holds now and will not hold, and
// the reverse, sorted. Holding is Active or Disabled: both keep a seat.
func (w *worker) seatChanges(cur *licv1.UserLicenseStatus, reqs []request) (releases, grants []string) {
	p := w.p
	for i := range cur.Licenses {
		l := &cur.Licenses[i]
		if !holdsSeat(l.State) {
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
// at this generation (setting it again would change nothing); for an
// absent condition, whether it is absent.
func conditionHolds(conds []metav1.Condition, typ string, want cond, gen int64) bool {
	c := meta.FindStatusCondition(conds, typ)
	if want == absent {
		return c == nil
	}
	return c != nil && c.Status == want.status && c.Reason == want.reason &&
		c.Message == want.message && c.ObservedGeneration == gen
}

// conditions returns a copy of current with the desired conditions set by
// meta.SetStatusCondition, which keeps lastTransitionTime while the status
// does not change, and the absent ones removed. Conditions of other types
// (Synced, written by another controller) are kept as they are.
func (p *planner) conditions(current []metav1.Condition, gen int64, want ...typed) []metav1.Condition {
	out := make([]metav1.Condition, len(current), len(current)+len(want))
	copy(out, current)
	for _, w := range want {
		if w.cond == absent {
			meta.RemoveStatusCondition(&out, w.typ)
			continue
		}
		meta.SetStatusCondition(&out, metav1.Condition{
			Type:               w.typ,
			Status:             w.status,
			Reason:             w.reason,
			Message:            w.message,
			ObservedGeneration: gen,
			LastTransitionTime: p.now,
		})
	}
	if len(out) == 0 {
		return nil
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
