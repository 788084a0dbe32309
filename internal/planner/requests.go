package planner

import (
	"cmp"
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
	req  request
	last int32 // last label added
	// unknown is the first invalid source's mistake (smallest label, then
	// plan), reported in the note or, with no valid source, as the failure.
	unknown      unknownPlan
	unknownLabel int32
}

// userRequests merges the sources of one user into one request per SKU
// (rules 2 and 3), keeps those the status can list, sorts them by SKU and
// runs the checks of one request alone (rule 4).
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
	pend = w.listable(u, pend)
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
	p.findCurrent(u.obj.Status.Licenses, p.requests(u))
}

// addSource folds one source into the pending request of its SKU. Every
// step is commutative, so groups sharing a name may come in any order.
// A source is valid when its SKU exists and it names no plan the SKU
// lacks; only valid sources count for the plans (rule 3) and the rank.
func (w *worker) addSource(ui, sku, label, prio, combo int32, unknown unknownPlan) {
	// w.scratch.slot[sku] is the index of the SKU's pending request of
	// user w.scratch.slotUser[sku]-1.
	if w.scratch.slotUser[sku] != ui+1 {
		w.scratch.slotUser[sku] = ui + 1
		w.scratch.slot[sku] = int32(len(w.scratch.pending))
		w.scratch.pending = append(w.scratch.pending, pending{
			req:  request{sku: sku, combo: -1, label: label, prio: minPriority, cur: -1},
			last: -1,
		})
	}
	pr := &w.scratch.pending[w.scratch.slot[sku]]
	r := &pr.req
	if label != pr.last {
		if r.nlabs < math.MaxUint8 {
			r.nlabs++
		}
		pr.last = label
	}
	if unknown.found {
		if !pr.unknown.found || label < pr.unknownLabel ||
			label == pr.unknownLabel && minUnknown(pr.unknown, unknown) != pr.unknown {
			pr.unknown, pr.unknownLabel = unknown, label
		}
		return
	}
	if combo < 0 {
		return // the SKU does not exist
	}
	if label == 0 {
		r.flags |= flagDirect
	} else if prio > r.prio {
		r.prio = prio
	}
	switch {
	case r.combo < 0:
		r.combo = combo
	case combo != r.combo:
		r.combo = w.union(r.combo, combo)
	}
}

// finish runs the checks that concern one request alone (rule 4), in
// order: the first failing one decides.
func (w *worker) finish(ui int32, pr *pending) request {
	p := w.p
	r := pr.req
	u := &p.users[ui]
	loc := u.obj.Spec.UsageLocation
	if pr.unknown.found && r.combo >= 0 {
		// A valid source is left: the invalid one is ignored and noted.
		r.flags |= flagNote
		w.notes[noteKey(ui, r.sku)] = w.message(noteIgnoredSource(pr.unknownLabel, r.sku, pr.unknown))
	}
	switch {
	case u.loser(ui):
		r.fail(reasonDuplicateUPN, w.message(msgDuplicateUPN(u.winner)))
	case p.skus[r.sku] == nil:
		r.fail(reasonSkuNotFound, w.message(msgSkuNotFound(r.sku)))
	case r.combo < 0:
		r.fail(reasonUnknownServicePlan, w.message(msgUnknownPlan(pr.unknownLabel, r.sku, pr.unknown)))
	case loc == "":
		r.fail(reasonUsageLocationRequired, w.message(msgUsageLocationRequired()))
	default:
		if pr := p.combo(r.combo).prohibited; pr != nil {
			if plan, ok := pr[loc]; ok {
				r.fail(reasonProhibitedInUsageLocation, w.message(msgProhibited(plan, r.sku, loc)))
			}
		}
	}
	return r
}

// Status size bounds. A status lists at most MaxUserLicenseStatuses
// licenses, and only as many as fit in statusLicenseBudget bytes when
// every entry is as large as it could get (entryBound): with the groups
// and the conditions (bounded too), no status comes near the 256 KiB the
// issue allows, whatever the tenant's objects.
const (
	statusLicenseBudget = 200 << 10
	// entryOverhead bounds the JSON of an entry's keys, state, reason and
	// times.
	entryOverhead = 200
	// maxMessage bounds an entry's message (see licenseMessage).
	maxMessage = 1024
	// fastListable is how many requests fit the budget whatever their
	// size: 253-byte SKU and 64-byte part names, 16 sources of 259 bytes,
	// 128 disabled plans of 64 bytes and a full message make 14,309 bytes.
	fastListable = statusLicenseBudget / (entryOverhead + 253 + 64 + licv1.MaxAssignedBy*262 + 128*67 + maxMessage)
)

// listable returns the requests the user's status can list: all of them
// unless there are more than MaxUserLicenseStatuses or their entries could
// exceed the byte budget. Then the requests the user holds come first, then
// by rank (direct, priority, SKU name), and the rest are counted in
// userInfo.unlisted and never assigned (reason TooManyLicenses in the
// user's Ready condition).
func (w *worker) listable(u *userInfo, pend []pending) []pending {
	if len(pend) <= fastListable {
		return pend
	}
	p := w.p
	held := func(sku int32) bool {
		name := p.skuNames[sku]
		for i := range u.obj.Status.Licenses {
			if l := &u.obj.Status.Licenses[i]; l.SKU == name && holdsSeat(l.State) {
				return true
			}
		}
		return false
	}
	for i := range pend {
		if held(pend[i].req.sku) {
			pend[i].req.flags |= flagHeld // only to order; findCurrent sets it again
		}
	}
	slices.SortFunc(pend, func(a, b pending) int {
		if a.req.held() != b.req.held() {
			if a.req.held() {
				return -1
			}
			return 1
		}
		return compareRank(&a.req, &b.req)
	})
	budget := statusLicenseBudget
	n := 0
	for n < len(pend) && n < licv1.MaxUserLicenseStatuses {
		size := p.entryBound(&pend[n].req)
		if size > budget {
			break
		}
		budget -= size
		n++
	}
	u.unlisted = int32(len(pend) - n)
	for i := range pend[:n] {
		pend[i].req.flags &^= flagHeld
	}
	return pend[:n]
}

// entryBound bounds the JSON size of a request's status entry before its
// outcome is known.
func (p *planner) entryBound(r *request) int {
	size := entryOverhead + len(p.skuNames[r.sku]) + maxMessage
	if s := p.skus[r.sku]; s != nil {
		size += len(s.part) + s.planBytes
	}
	return size + min(int(r.nlabs), licv1.MaxAssignedBy)*(p.maxLabel+3)
}

// compareRank orders the requests of one user by rank (the SKU's rank for
// that user): direct first, then higher group priority, then SKU name.
func compareRank(a, b *request) int {
	if a.direct() != b.direct() {
		if a.direct() {
			return -1
		}
		return 1
	}
	if a.prio != b.prio {
		return cmp.Compare(b.prio, a.prio)
	}
	return cmp.Compare(a.sku, b.sku)
}

// outranks reports whether request a ranks before b among one user's
// requests.
func outranks(a, b *request) bool { return compareRank(a, b) < 0 }

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
		if holdsSeat(cur[j].State) {
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
	u := &w.p.users[ui]
	name := w.p.skuNames[r.sku]
	if slices.ContainsFunc(u.obj.Spec.Licenses, func(a licv1.LicenseAssignment) bool { return a.SKU == name }) {
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

// listedSources returns the labels assignedBy lists: the first
// MaxAssignedBy.
func (w *worker) listedSources(ui int32, r *request) (labels []int32, total int) {
	labels = w.sourceLabels(ui, r)
	return labels[:min(len(labels), licv1.MaxAssignedBy)], len(labels)
}

// sameSources reports whether by is the assignedBy list of r.
func (w *worker) sameSources(ui int32, r *request, by []string) bool {
	if r.nlabs == 1 {
		return len(by) == 1 && by[0] == w.p.labels[r.label]
	}
	if len(by) > int(r.nlabs) {
		return false
	}
	labels, _ := w.listedSources(ui, r)
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
	labels, _ := w.listedSources(ui, r)
	if key, packed := packLabels(labels); packed {
		return w.byLists.at(w.sourceList(key, len(labels)))
	}
	l := w.slabs.str.take(len(labels))
	for i, lb := range labels {
		l[i] = w.p.labels[lb]
	}
	return l
}

// packLabels packs two or three labels below 65535 into a map key (16
// bits each, label+1, the first in the highest bits). Longer lists are
// rarely shared by two users, so they are not interned.
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

// sourceList returns the index in byLists of the assignedBy list of the
// n labels packed in key (see packLabels), adding it on first use.
func (w *worker) sourceList(key uint64, n int) int32 {
	// A direct-mapped cache in front of the map: popular lists (a
	// department with all-employees) come back again and again.
	slot := &w.recentLists[(key*0x9e3779b97f4a7c15)>>(64-recentListsBits)]
	if slot.key == key && key != 0 {
		return slot.id
	}
	id, ok := w.byPacked[key]
	if !ok {
		id = w.addSourceList(key, n)
	}
	slot.key, slot.id = key, id
	return id
}

// recentListsBits sizes worker.recentLists.
const recentListsBits = 11

// addSourceList adds the assignedBy list of the n labels packed in key.
func (w *worker) addSourceList(key uint64, n int) int32 {
	l := w.slabs.str.take(n)
	for i, k := n-1, key; i >= 0; i, k = i-1, k>>16 {
		l[i] = w.p.labels[k&(1<<16-1)-1]
	}
	id := w.byLists.add(l)
	w.byPacked[key] = id
	return id
}

// noteKey identifies the request of user ui for sku in worker.notes.
func noteKey(ui, sku int32) int64 { return int64(ui)<<32 | int64(uint32(sku)) }

func (r *request) fail(why reason, msg int32) {
	r.reason = why
	r.msg = msg
}
