package planner

import (
	"math"
	"slices"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// reqChunk is the number of requests a worker allocates at once.
const reqChunk = 1 << 14

// chunkWorkerShift puts the worker in the high bits of userInfo.chunk.
const chunkWorkerShift = 24

// pending is a request being assembled from its sources.
type pending struct {
	req          request
	last         int32 // last label added
	unknown      unknownPlan
	unknownLabel int32
}

// userRequests merges the sources of one user into one request per SKU,
// sorted by SKU, and runs every check except seats.
//
// Sources are visited in label order (direct assignments, then groups in
// name order), so every request sees its labels ascending. Each source is
// folded into its SKU's pending request at once; nothing is sorted but the
// few requests at the end.
func (w *worker) userRequests(ui int32) {
	p := w.p
	u := &p.users[ui]
	if u.obj == nil {
		return
	}
	w.scratch.pending = w.scratch.pending[:0]
	if len(w.scratch.slot) < len(p.skuNames) {
		w.scratch.slot = make([]int32, len(p.skuNames))
		w.scratch.slotUser = make([]int32, len(p.skuNames))
	}
	for k := range u.obj.Spec.Licenses {
		a := &u.obj.Spec.Licenses[k]
		sku := p.skuIDs[a.SKU]
		combo, unknown := int32(-1), unknownPlan{}
		if p.skus[sku] != nil {
			combo, unknown = w.assignmentCombo(sku, a)
		}
		w.addSource(ui, sku, 0, minPriority, combo, unknown)
	}
	for _, gi := range p.groupsOf(ui) {
		g := &p.groups[gi]
		for _, gl := range g.licenses {
			var unknown unknownPlan
			if gl.unknown >= 0 {
				unknown = p.unknowns[gl.unknown]
			}
			w.addSource(ui, gl.sku, g.label, g.priority, gl.combo, unknown)
		}
	}
	pend := w.scratch.pending
	if len(pend) == 0 {
		return
	}
	for i := 1; i < len(pend); i++ {
		for j := i; j > 0 && pend[j].req.sku < pend[j-1].req.sku; j-- {
			pend[j], pend[j-1] = pend[j-1], pend[j]
		}
	}

	// The user's requests are a window of one of the worker's chunks.
	k := len(w.reqChunks) - 1
	if k < 0 || cap(w.reqChunks[k])-len(w.reqChunks[k]) < len(pend) {
		w.reqChunks = append(w.reqChunks, make([]request, 0, max(reqChunk, len(pend))))
		k++
	}
	chunk := w.reqChunks[k]
	u.chunk, u.off, u.n = int32(w.id)<<chunkWorkerShift|int32(k), int32(len(chunk)), int32(len(pend))
	for i := range pend {
		chunk = append(chunk, w.finish(ui, &pend[i]))
	}
	w.reqChunks[k] = chunk
	reqs := p.requests(u)
	p.findCurrent(u.obj.Status.Licenses, reqs)
	w.check(reqs)
}

// addSource folds one source into the pending request of its SKU. Every
// step is commutative, so groups sharing a name may come in any order.
func (w *worker) addSource(ui, sku, label, prio, combo int32, unknown unknownPlan) {
	// w.scratch.slot[sku] is the index of the SKU's pending request of
	// user w.scratch.slotUser[sku]-1.
	if w.scratch.slotUser[sku] != ui+1 {
		w.scratch.slotUser[sku] = ui + 1
		w.scratch.slot[sku] = int32(len(w.scratch.pending))
		w.scratch.pending = append(w.scratch.pending, pending{
			req:  request{sku: sku, combo: combo, label: label, prio: minPriority, cur: -1},
			last: -1,
		})
	}
	pr := &w.scratch.pending[w.scratch.slot[sku]]
	r := &pr.req
	if label == 0 {
		r.flags |= flagDirect
	} else if prio > r.prio {
		r.prio = prio
	}
	if label != pr.last {
		if r.nlabs < math.MaxUint8 {
			r.nlabs++
		}
		pr.last = label
	}
	if combo != r.combo && combo >= 0 && r.combo >= 0 {
		r.combo = w.union(r.combo, combo)
	}
	if unknown.found && (!pr.unknown.found || label < pr.unknownLabel ||
		label == pr.unknownLabel && minUnknown(pr.unknown, unknown) != pr.unknown) {
		pr.unknown, pr.unknownLabel = unknown, label
	}
}

// finish runs the checks that concern one request alone, in order: the
// first failing one decides.
func (w *worker) finish(ui int32, pr *pending) request {
	p := w.p
	r := pr.req
	u := &p.users[ui]
	loc := u.obj.Spec.UsageLocation
	switch {
	case u.loser(ui):
		r.fail(reasonDuplicateUPN, w.message(msgKey{r: reasonDuplicateUPN, a: u.winner}))
	case r.combo < 0:
		r.fail(reasonSkuNotFound, w.message(msgKey{r: reasonSkuNotFound, a: r.sku}))
	case pr.unknown.found:
		r.fail(reasonUnknownServicePlan, w.message(msgKey{r: reasonUnknownServicePlan,
			a: pr.unknownLabel, b: r.sku, c: boolInt(pr.unknown.enabled), s: pr.unknown.plan}))
	case loc == "":
		r.fail(reasonUsageLocationRequired, w.message(msgKey{r: reasonUsageLocationRequired}))
	default:
		if pr := p.combo(r.combo).prohibited; pr != nil {
			if plan, ok := pr[loc]; ok {
				r.fail(reasonProhibitedInUsageLocation, w.message(msgKey{r: reasonProhibitedInUsageLocation, a: plan, b: r.sku, s: loc}))
			}
		}
	}
	return r
}

// findCurrent links every request to the first entry for its SKU in the
// current status, walking both lists in name order (the planner writes
// statuses sorted) and falling back to a scan for unsorted statuses.
func (p *planner) findCurrent(cur []licv1.LicenseStatus, reqs []request) {
	k := 0
	for i := range reqs {
		r := &reqs[i]
		name := p.skuNames[r.sku]
		for k < len(cur) && cur[k].SKU < name {
			k++
		}
		j := k
		if j == len(cur) || cur[j].SKU != name {
			j = slices.IndexFunc(cur, func(l licv1.LicenseStatus) bool { return l.SKU == name })
		}
		if j < 0 {
			continue
		}
		r.cur = curFar
		if j <= math.MaxInt8 {
			r.cur = int8(j)
		}
		if cur[j].State == licv1.LicenseStateActive {
			r.flags |= flagHeld
		}
	}
}

// requests returns the requests of a user.
func (p *planner) requests(u *userInfo) []request {
	if u.n == 0 {
		return nil
	}
	c := p.workers[u.chunk>>chunkWorkerShift].reqChunks[u.chunk&(1<<chunkWorkerShift-1)]
	return c[u.off : u.off+u.n : u.off+u.n]
}

// current returns the entry of the current status r is linked to, or nil.
func (p *planner) current(u *userInfo, r *request) *licv1.LicenseStatus {
	cur := u.obj.Status.Licenses
	switch {
	case r.cur >= 0:
		return &cur[r.cur]
	case r.cur == curFar:
		name := p.skuNames[r.sku]
		for i := range cur {
			if cur[i].SKU == name {
				return &cur[i]
			}
		}
	}
	return nil
}

// sourceLabels returns the labels of a request's sources, ascending, in
// a scratch buffer valid until the next call. They are recomputed from the
// user's groups rather than stored: only multi-source requests need them,
// and only when their status is compared or built.
func (w *worker) sourceLabels(ui int32, r *request) []int32 {
	out := w.scratch.labels[:0]
	if r.nlabs == 1 {
		out = append(out, r.label)
		w.scratch.labels = out
		return out
	}
	if r.direct() {
		out = append(out, 0)
	}
	for _, gi := range w.p.groupsOf(ui) {
		g := &w.p.groups[gi]
		if _, found := slices.BinarySearch(g.skus, r.sku); found && (len(out) == 0 || out[len(out)-1] != g.label) {
			out = append(out, g.label)
		}
	}
	w.scratch.labels = out
	return out
}

// sameSources reports whether by is the assignedBy list of r.
func (w *worker) sameSources(ui int32, r *request, by []string) bool {
	if r.nlabs == 1 {
		return len(by) == 1 && by[0] == w.p.labels[r.label]
	}
	if len(by) < int(r.nlabs) || len(by) > int(r.nlabs) && r.nlabs < math.MaxUint8 {
		return false
	}
	labels := w.sourceLabels(ui, r)
	if len(by) != len(labels) {
		return false
	}
	for i, l := range labels {
		if by[i] != w.p.labels[l] {
			return false
		}
	}
	return true
}

// assignedBy returns the (read-only, possibly shared) assignedBy list of r.
func (w *worker) assignedBy(ui int32, r *request) []string {
	if r.nlabs == 1 {
		return w.p.labelLists[r.label]
	}
	labels := w.sourceLabels(ui, r)
	key, packed := packLabels(labels)
	if packed {
		if id, ok := w.byPacked[key]; ok {
			return w.byLists.at(id)
		}
	}
	l := w.slabs.str.take(len(labels))
	for i, lb := range labels {
		l[i] = w.p.labels[lb]
	}
	if packed {
		w.byPacked[key] = w.byLists.add(l)
	}
	return l
}

// packLabels packs two or three labels below 65535 into a map key. Longer
// lists are rarely shared by two users, so they are not interned.
func packLabels(labels []int32) (uint64, bool) {
	if len(labels) > 3 {
		return 0, false
	}
	var key uint64
	for _, l := range labels {
		if l >= 1<<16-1 {
			return 0, false
		}
		key = key<<16 | uint64(l+1)
	}
	return key, true
}

func (r *request) fail(why reason, msg int32) {
	r.reason = why
	r.msg = msg
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// outranks reports whether request a ranks before b among one user's
// requests: direct first, then higher group priority, then SKU name.
func outranks(a, b *request) bool {
	if a.direct() != b.direct() {
		return a.direct()
	}
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	return a.sku < b.sku
}

// check runs the per-user checks that involve several SKUs: conflicts in
// rank order, then missing dependencies to a fixed point. Both are decided
// before seats are allocated, so that a user's plans never depend on other
// users.
func (w *worker) check(reqs []request) {
	if w.p.anyConflicts && len(reqs) > 1 {
		rank := w.scratch.rank[:0]
		for i := range reqs {
			if reqs[i].reason == reasonNone {
				rank = append(rank, int32(i))
			}
		}
		for i := 1; i < len(rank); i++ {
			for j := i; j > 0 && outranks(&reqs[rank[j]], &reqs[rank[j-1]]); j-- {
				rank[j], rank[j-1] = rank[j-1], rank[j]
			}
		}
		w.scratch.rank = rank
		if len(rank) > 1 {
			w.checkConflicts(reqs, rank)
		}
	}
	if w.p.anyRequires {
		w.checkDependencies(reqs)
	}
}

// checkConflicts walks the requests in rank order and rejects one whose
// enabled plans conflict with a plan of an already accepted request.
func (w *worker) checkConflicts(reqs []request, rank []int32) {
	p := w.p
	acc := w.scratch.acc
	acc.reset()
	accepted := w.scratch.accepted[:0]
	for _, ri := range rank {
		r := &reqs[ri]
		c := p.combo(r.combo)
		if c.conflicts == nil || !c.conflicts.intersects(acc) {
			acc.or(c.plans)
			accepted = append(accepted, ri)
			continue
		}
		// Name the smallest offending plan, the smallest plan it conflicts
		// with, and the highest-ranked accepted SKU enabling that one.
		var mine, theirs, winner int32 = -1, -1, -1
		for pid := c.plans.next(0); pid >= 0; pid = c.plans.next(pid + 1) {
			if cs := p.conflicts[pid]; cs != nil {
				if q := cs.firstCommon(acc); q >= 0 {
					mine, theirs = pid, q
					break
				}
			}
		}
		for _, ai := range accepted {
			if p.combo(reqs[ai].combo).plans.has(theirs) {
				winner = reqs[ai].sku
				break
			}
		}
		r.fail(reasonMutuallyExclusivePlans, w.message(msgKey{r: reasonMutuallyExclusivePlans, a: mine, b: theirs, c: winner, d: r.sku}))
	}
	w.scratch.accepted = accepted
}

// checkDependencies fails every request with an enabled plan whose
// requirement no remaining request enables, until nothing changes: a
// failure can take away a plan another request relies on.
func (w *worker) checkDependencies(reqs []request) {
	p := w.p
	union := w.scratch.union
	for changed := true; changed; {
		changed = false
		union.reset()
		for i := range reqs {
			if reqs[i].reason == reasonNone {
				union.or(p.combo(reqs[i].combo).plans)
			}
		}
		for i := range reqs {
			r := &reqs[i]
			if r.reason != reasonNone {
				continue
			}
			c := p.combo(r.combo)
			if c.requires == nil || c.requires.subsetOf(union) {
				continue
			}
			defs := p.skus[r.sku].defs
			var mine, missing int32 = -1, -1
			for pid := c.plans.next(0); pid >= 0; pid = c.plans.next(pid + 1) {
				if d := defs[pid]; d != nil && d.requires != nil {
					if q := d.requires.firstNotIn(union); q >= 0 {
						mine, missing = pid, q
						break
					}
				}
			}
			r.fail(reasonMissingDependency, w.message(msgKey{r: reasonMissingDependency, a: mine, b: missing, c: r.sku}))
			changed = true
		}
	}
}
