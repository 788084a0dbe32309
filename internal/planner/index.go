package planner

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// object is what compareObjects needs of an API object.
type object interface {
	GetName() string
	GetUID() types.UID
}

// compareObjects orders two objects by name, then UID, then content. The
// API server never returns two objects of one kind with the same name in a
// namespace; the fallbacks only make Plan independent of input order when
// it is handed such a list anyway.
func compareObjects(a, b object) int {
	if c := strings.Compare(a.GetName(), b.GetName()); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.GetUID()), string(b.GetUID())); c != 0 {
		return c
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Compare(ja, jb)
}

// indexSKUs picks the LicenseSku in effect for every name, numbers service
// plans and SKU names, and builds the conflict relation.
func (p *planner) indexSKUs() {
	best := map[string]int32{}
	for i, s := range p.in.SKUs {
		if s == nil {
			continue
		}
		if j, ok := best[s.Name]; !ok || compareObjects(s, p.in.SKUs[j]) < 0 {
			best[s.Name] = int32(i)
		}
	}

	// Service plan IDs in name order: every defined plan and every plan
	// named by a requires list (which may be defined nowhere).
	planSet := map[string]struct{}{}
	for _, i := range best {
		for _, sp := range p.in.SKUs[i].Spec.ServicePlans {
			planSet[sp.Name] = struct{}{}
			for _, r := range sp.Requires {
				planSet[r] = struct{}{}
			}
		}
	}
	p.planNames = sortedKeys(planSet)
	for i, n := range p.planNames {
		p.planIDs[n] = int32(i)
	}
	nPlans := max(len(p.planNames), 1)
	for _, w := range p.workers {
		w.scratch.init(nPlans)
	}

	// Conflicts are symmetric and by plan name across all SKUs.
	p.conflicts = make([]bitset, len(p.planNames))
	for _, i := range best {
		for _, sp := range p.in.SKUs[i].Spec.ServicePlans {
			a := p.planIDs[sp.Name]
			for _, c := range sp.ConflictsWith {
				b, ok := p.planIDs[c]
				if !ok || a == b {
					continue
				}
				p.conflictSet(a).set(b)
				p.conflictSet(b).set(a)
				p.anyConflicts = true
			}
		}
	}

	// SKU IDs in name order: defined and referenced names.
	skuSet := make(map[string]struct{}, len(best))
	for n := range best {
		skuSet[n] = struct{}{}
	}
	for _, g := range p.in.Groups {
		if g != nil {
			for _, a := range g.Spec.Licenses {
				skuSet[a.SKU] = struct{}{}
			}
		}
	}
	for _, u := range p.in.Users {
		if u != nil {
			for _, a := range u.Spec.Licenses {
				skuSet[a.SKU] = struct{}{}
			}
		}
	}
	p.skuNames = sortedKeys(skuSet)
	for i, n := range p.skuNames {
		p.skuIDs[n] = int32(i)
	}
	p.skus = make([]*skuInfo, len(p.skuNames))
	p.skuOwner = make([]int32, len(p.in.SKUs))
	for i := range p.skuOwner {
		p.skuOwner[i] = -1
	}
	for id, name := range p.skuNames {
		i, ok := best[name]
		if !ok {
			continue
		}
		p.skus[id] = p.newSkuInfo(p.in.SKUs[i], int32(id), nPlans)
		p.skuOwner[i] = int32(id)
	}
	// Combos need every SKU's plan definitions (requires) and the complete
	// conflict relation.
	w := p.workers[0]
	for _, s := range p.skus {
		if s != nil {
			s.full = w.internCombo(s.id, s.plans)
			s.seatMsg = w.message(msgSeats(s.id))
			s.inactiveMsg = w.message(msgInactive(s.id))
		}
	}
}

func (p *planner) conflictSet(plan int32) bitset {
	if p.conflicts[plan] == nil {
		p.conflicts[plan] = newBitset(len(p.planNames))
	}
	return p.conflicts[plan]
}

// capacity returns the usable seats of a SKU (Enabled, Warning or unset
// state), whether it has subscriptions but none usable, and the names of
// subscriptions in their grace period.
func capacity(spec *licv1.LicenseSkuSpec) (seats int64, inactive bool, warning []string) {
	usable := false
	for _, sub := range spec.Subscriptions {
		switch sub.State {
		case "", licv1.SubscriptionEnabled, licv1.SubscriptionWarning:
			usable = true
			seats = addSeats(seats, sub.Seats)
			if sub.State == licv1.SubscriptionWarning {
				warning = append(warning, sub.Name)
			}
		}
	}
	slices.Sort(warning)
	return seats, len(spec.Subscriptions) > 0 && !usable, warning
}

// addSeats adds n (negative counts as 0) to seats without overflowing.
func addSeats(seats, n int64) int64 {
	if n <= 0 {
		return seats
	}
	if seats > math.MaxInt64-n {
		return math.MaxInt64
	}
	return seats + n
}

func (p *planner) newSkuInfo(obj *licv1.LicenseSku, id int32, nPlans int) *skuInfo {
	s := &skuInfo{
		obj:   obj,
		id:    id,
		part:  obj.Spec.SkuPartNumber,
		plans: newBitset(nPlans),
		defs:  map[int32]*planDef{},
	}
	s.capacity, s.inactive, s.warning = capacity(&obj.Spec)
	for _, sp := range obj.Spec.ServicePlans {
		pid := p.planIDs[sp.Name]
		if !s.plans.has(pid) {
			s.planBytes += len(sp.Name) + 3
		}
		s.plans.set(pid)
		d := s.defs[pid]
		if d == nil {
			d = &planDef{}
			s.defs[pid] = d
		}
		for _, r := range sp.Requires {
			if d.requires == nil {
				d.requires = newBitset(nPlans)
			}
			d.requires.set(p.planIDs[r])
			p.anyRequires = true
		}
		d.unavailableIn = append(d.unavailableIn, sp.UnavailableIn...)
	}
	return s
}

// displayName is how messages name a SKU: its part number (what one
// purchases), or its name when the part number is empty.
func (p *planner) displayName(sku int32) string {
	if s := p.skus[sku]; s != nil && s.part != "" {
		return s.part
	}
	return p.skuNames[sku]
}

// internCombo returns the ID of the combo of the given SKU and plans,
// creating it on first use. plans is copied.
func (w *worker) internCombo(sku int32, plans bitset) int32 {
	key := append(w.scratch.key[:0], byte(sku), byte(sku>>8), byte(sku>>16), byte(sku>>24))
	key = plans.appendKey(key)
	w.scratch.key = key
	if id, ok := w.comboCache[string(key)]; ok {
		return id
	}
	t := &w.p.combos
	t.mu.Lock()
	id, ok := t.ids[string(key)]
	if !ok {
		id = t.items.add(w.p.newCombo(sku, plans))
		t.ids[string(key)] = id
	}
	t.mu.Unlock()
	w.comboCache[string(key)] = id
	return id
}

// union returns the combo enabling the plans of both a and b (of one SKU).
func (w *worker) union(a, b int32) int32 {
	if a == b {
		return a
	}
	key := [2]int32{min(a, b), max(a, b)}
	if id, ok := w.unionCache[key]; ok {
		return id
	}
	ca, cb := w.p.combo(a), w.p.combo(b)
	m := w.scratch.mask
	copy(m, ca.plans)
	m.or(cb.plans)
	id := w.internCombo(ca.sku, m)
	w.unionCache[key] = id
	return id
}

// newCombo builds the combo of the given SKU and plans (copied), with
// what the checks need precomputed.
func (p *planner) newCombo(sku int32, plans bitset) *combo {
	c := &combo{sku: sku, plans: slices.Clone(plans)}
	s := p.skus[sku]
	for pid := s.plans.next(0); pid >= 0; pid = s.plans.next(pid + 1) {
		if !plans.has(pid) {
			c.disabled = append(c.disabled, p.planNames[pid])
		}
	}
	for pid := plans.next(0); pid >= 0; pid = plans.next(pid + 1) {
		if cs := p.conflicts[pid]; cs != nil {
			if c.conflicts == nil {
				c.conflicts = newBitset(len(p.planNames))
			}
			c.conflicts.or(cs)
		}
		d := s.defs[pid]
		if d == nil {
			continue
		}
		if d.requires != nil {
			if c.requires == nil {
				c.requires = newBitset(len(p.planNames))
			}
			c.requires.or(d.requires)
		}
		for _, loc := range d.unavailableIn {
			if c.prohibited == nil {
				c.prohibited = map[string]int32{}
			}
			if _, ok := c.prohibited[loc]; !ok {
				c.prohibited[loc] = pid // ascending walk: the smallest plan wins
			}
		}
	}
	return c
}

// assignmentCombo returns the combo one assignment enables on an existing
// SKU, and the smallest plan name it lists that the SKU lacks. enabledPlans
// (an allow-list) and disabledPlans both apply when both are set, although
// the CRD schema forbids that.
func (w *worker) assignmentCombo(sku int32, a *licv1.LicenseAssignment) (int32, unknownPlan) {
	p := w.p
	s := p.skus[sku]
	if len(a.EnabledPlans) == 0 && len(a.DisabledPlans) == 0 {
		return s.full, unknownPlan{}
	}
	var unknown unknownPlan
	m := w.scratch.mask
	if len(a.EnabledPlans) > 0 {
		m.reset()
		for _, n := range a.EnabledPlans {
			if pid, ok := p.planIDs[n]; ok && s.plans.has(pid) {
				m.set(pid)
			} else {
				unknown = minUnknown(unknown, unknownPlan{plan: n, enabled: true, found: true})
			}
		}
	} else {
		copy(m, s.plans)
	}
	for _, n := range a.DisabledPlans {
		if pid, ok := p.planIDs[n]; ok && s.plans.has(pid) {
			m.unset(pid)
		} else {
			unknown = minUnknown(unknown, unknownPlan{plan: n, found: true})
		}
	}
	return w.internCombo(sku, m), unknown
}

// minUnknown returns the smaller of two unknown plans (the zero value
// meaning none): by plan name, then disabledPlans before enabledPlans.
func minUnknown(a, b unknownPlan) unknownPlan {
	switch {
	case !a.found:
		return b
	case !b.found:
		return a
	case a.plan != b.plan:
		if a.plan < b.plan {
			return a
		}
		return b
	case !a.enabled:
		return a
	default:
		return b
	}
}

// addUnknown stores an unknown plan and returns its index, or -1 for none.
func (p *planner) addUnknown(u unknownPlan) int32 {
	if !u.found {
		return -1
	}
	p.unknowns = append(p.unknowns, u)
	return int32(len(p.unknowns) - 1)
}

// indexGroups numbers group names (the source labels), resolves every
// group's licenses and compiles its selector.
func (p *planner) indexGroups() {
	p.labels = []string{licv1.SourceDirect}
	p.groups = make([]groupInfo, len(p.in.Groups))
	for i, g := range p.in.Groups {
		if g != nil {
			p.groupOrder = append(p.groupOrder, int32(i))
		}
	}
	// Same-name groups (impossible from an API server) share a label; all
	// per-user merging is commutative, so their relative order is moot.
	slices.SortStableFunc(p.groupOrder, func(a, b int32) int {
		return strings.Compare(p.in.Groups[a].Name, p.in.Groups[b].Name)
	})
	for k, gi := range p.groupOrder {
		g := p.in.Groups[gi]
		if k == 0 || g.Name != p.in.Groups[p.groupOrder[k-1]].Name {
			p.labels = append(p.labels, licv1.SourceGroupPrefix+g.Name)
		}
		p.groups[gi].label = int32(len(p.labels) - 1)
	}
	p.labelLists = make([][]string, len(p.labels))
	for l, name := range p.labels {
		p.labelLists[l] = []string{name}
		p.maxLabel = max(p.maxLabel, len(name))
	}
	for _, gi := range p.groupOrder {
		p.indexGroup(&p.groups[gi], p.in.Groups[gi])
	}
}

func (p *planner) indexGroup(gi *groupInfo, g *licv1.LicenseGroup) {
	gi.obj = g
	gi.name = g.Name
	gi.priority = g.Spec.Priority
	gi.licenses = make([]groupLicense, len(g.Spec.Licenses))
	for k := range g.Spec.Licenses {
		a := &g.Spec.Licenses[k]
		gl := groupLicense{sku: p.skuIDs[a.SKU], combo: -1, unknown: -1}
		if p.skus[gl.sku] != nil {
			var unknown unknownPlan
			gl.combo, unknown = p.workers[0].assignmentCombo(gl.sku, a)
			gl.unknown = p.addUnknown(unknown)
			if unknown.found {
				// The group reports its smallest (SKU, plan) mistake.
				gi.nUnknown++
				if gi.nUnknown == 1 || gl.sku < gi.unknownSKU ||
					gl.sku == gi.unknownSKU && minUnknown(gi.unknown, unknown) != gi.unknown {
					gi.unknown, gi.unknownSKU = unknown, gl.sku
				}
			}
		}
		gi.licenses[k] = gl
		gi.skus = append(gi.skus, gl.sku)
	}
	slices.Sort(gi.skus)
	gi.skus = slices.Compact(gi.skus)
	gi.selector, gi.selErr = compileSelector(g.Spec.MemberSelector)
}

// indexUsers picks the user in effect for every userPrincipalName (the
// object with the lowest name) and indexes the users' labels for the group
// selectors. In a large namespace the work is spread over the workers: the
// first builds the userPrincipalName map, and each label key's lists are
// built by one worker (the map counting as two keys' worth of work). The
// index includes users that lose a userPrincipalName tie; selection
// filters them out.
func (p *planner) indexUsers() *labelIndex {
	idx := p.newLabelIndex()
	p.users = make([]userInfo, len(p.in.Users))
	n := len(p.workers)
	if n == 1 || len(idx.keys) == 0 {
		p.indexUPNs()
		p.indexLabels(idx.keys)
		return idx
	}
	load := make([]int, n)
	load[0] = 2
	parts := make([][]*keyIndex, n)
	for _, ki := range idx.keys {
		k := 0
		for j := range load {
			if load[j] < load[k] {
				k = j
			}
		}
		parts[k] = append(parts[k], ki)
		load[k]++
	}
	parallel(n, func(k int) {
		if k == 0 {
			p.indexUPNs()
		}
		p.indexLabels(parts[k])
	})
	return idx
}

// indexLabels adds every user to the lists of the given keys.
func (p *planner) indexLabels(keys []*keyIndex) {
	if len(keys) == 0 {
		return
	}
	for i, u := range p.in.Users {
		if u == nil || len(u.Labels) == 0 {
			continue
		}
		for _, ki := range keys {
			if v, ok := u.Labels[ki.key]; ok {
				ki.add(v, int32(i))
			}
		}
	}
}

// indexUPNs maps every userPrincipalName, case-folded, to the user in
// effect (rule 1): the object holding seats now, else the one that was in
// effect at the last plan (its status does not say it lost), else the
// oldest, else the lowest name. A new duplicate therefore never takes
// over, and planning the result again keeps the same user in effect.
func (p *planner) indexUPNs() {
	for i, u := range p.in.Users {
		p.users[i].winner = int32(i)
		if u == nil {
			p.users[i].winner = -1
			continue
		}
		p.users[i].obj = u
		upn := foldUPN(u.Spec.UserPrincipalName)
		if upn != u.Spec.UserPrincipalName {
			p.folded[int32(i)] = upn
			p.users[i].folded = true
		}
		if j, ok := p.byUPN[upn]; !ok {
			p.byUPN[upn] = int32(i)
		} else {
			p.dupUPNs = true
			if compareClaims(u, p.in.Users[j]) < 0 {
				p.byUPN[upn] = int32(i)
			}
		}
	}
	if p.dupUPNs {
		for i := range p.users {
			if u := &p.users[i]; u.obj != nil {
				u.winner = p.byUPN[p.upn(int32(i))]
			}
		}
	}
}

// upn returns the case-folded userPrincipalName of user ui: its identity.
func (p *planner) upn(ui int32) string {
	if u := &p.users[ui]; !u.folded {
		return u.obj.Spec.UserPrincipalName
	}
	return p.folded[ui]
}

// foldUPN returns the identity of a userPrincipalName: Entra compares them
// case-insensitively. (strings.ToLower returns s itself when it has no
// upper-case letter, so the common case does not allocate.)
func foldUPN(s string) string { return strings.ToLower(s) }

// compareClaims orders two UserLicenses claiming the same
// userPrincipalName: the one holding seats now first, then the one whose
// status does not say it lost, then the older, then by name
// (compareObjects).
func compareClaims(a, b *licv1.UserLicense) int {
	if ha, hb := holdsSeats(&a.Status), holdsSeats(&b.Status); ha != hb {
		if ha {
			return -1
		}
		return 1
	}
	if la, lb := lostUPN(&a.Status), lostUPN(&b.Status); la != lb {
		if lb {
			return -1
		}
		return 1
	}
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return compareObjects(a, b)
}

// holdsSeats reports whether a status holds a seat of some SKU.
func holdsSeats(st *licv1.UserLicenseStatus) bool {
	for i := range st.Licenses {
		if holdsSeat(st.Licenses[i].State) {
			return true
		}
	}
	return false
}

// lostUPN reports whether a status says its object lost its
// userPrincipalName to another at the last plan.
func lostUPN(st *licv1.UserLicenseStatus) bool {
	c := meta.FindStatusCondition(st.Conditions, licv1.ConditionReady)
	return c != nil && c.Reason == licv1.ReasonDuplicateUserPrincipalName
}

// holdsSeat reports whether a license state holds a seat.
func holdsSeat(state string) bool {
	return state == licv1.LicenseStateActive || state == licv1.LicenseStateDisabled
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
