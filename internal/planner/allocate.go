package planner

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// seatSupply says how a SKU's free seats compare with the requests
// waiting for one, once the holders have kept theirs (rule 5).
type seatSupply uint8

const (
	// supplyAmple: every candidate fits; seats never decide who gets one.
	supplyAmple seatSupply = iota
	// supplyScarce: there are free seats, but fewer than candidates: the
	// namespace's queue decides who gets them.
	supplyScarce
	// supplyNone: no free seat (all taken, or holders above capacity:
	// Overallocated). No candidate gets one.
	supplyNone
)

// verdict is what the queue decides for a candidate at its turn.
type verdict uint8

const (
	grant   verdict = iota // seat free, no conflict, dependencies met
	blocked                // fails for good in this plan: a conflict or no seat left
	later                  // a dependency is not met yet: try again on the next walk
)

// seatCount is one worker's count of the requests of one SKU.
type seatCount struct {
	requested, holders, cands, granted, waiting int64
}

// allocate decides which requests hold a seat: the holders keep theirs
// (rule 5), then the namespace's queue hands out the free seats (rule 6),
// then every request left gets the reason it failed (rule 7).
//
// The queue is one ranked list over the whole namespace, walked again
// until a walk grants nothing. Two requests only influence each other
// through a SKU's seats or through their user's licenses (conflicts and
// dependencies). So a user whose candidates all ask for SKUs with ample
// seats walks its own requests alone, in parallel with the others; only
// users with a candidate for a scarce SKU join the shared walk (walkQueue),
// and there only the scarce SKUs' candidates need a global order. The
// result is the one of the single global walk (see doc.go).
func (p *planner) allocate() {
	counts := make([][]seatCount, len(p.workers))
	p.eachUserRange(func(w *worker, lo, hi int) {
		c := make([]seatCount, len(p.skus))
		for ui := lo; ui < hi; ui++ {
			w.keepHolders(int32(ui), c)
		}
		counts[w.id] = c
	})
	for id, s := range p.skus {
		if s == nil {
			continue
		}
		for _, c := range counts {
			s.requested += c[id].requested
			s.holders += c[id].holders
			s.cands += c[id].cands
		}
		s.free = s.capacity - s.holders
		switch {
		case s.cands <= s.free:
			s.supply = supplyAmple
		case s.free <= 0:
			s.supply = supplyNone
		default:
			s.supply = supplyScarce
		}
	}

	p.eachUserRange(func(w *worker, lo, hi int) {
		for ui := lo; ui < hi; ui++ {
			w.walkAlone(int32(ui))
		}
	})
	p.walkQueue()

	p.eachUserRange(func(w *worker, lo, hi int) {
		c := counts[w.id]
		clear(c)
		for ui := lo; ui < hi; ui++ {
			w.failRest(int32(ui), c)
		}
	})
	for id, s := range p.skus {
		if s != nil {
			for _, c := range counts {
				s.granted += c[id].granted
				s.waiting += c[id].waiting
			}
		}
	}
}

// keepHolders applies rule 5 to one user: every request it holds that
// passed the checks of rule 4 keeps its seat, unless the kept licenses
// conflict with each other or one requires a plan the others no longer
// enable (the SKUs' plans or the user's spec changed): then the
// lower-ranked one is released, until nothing changes. The rest become
// candidates for the queue.
func (w *worker) keepHolders(ui int32, c []seatCount) {
	p := w.p
	u := &p.users[ui]
	if u.obj == nil || u.loser(ui) {
		return
	}
	reqs := p.requests(u)
	kept := w.scratch.rank[:0]
	for i := range reqs {
		r := &reqs[i]
		if p.skus[r.sku] == nil {
			continue
		}
		c[r.sku].requested++
		if r.reason == reasonNone && r.held() {
			kept = append(kept, int32(i))
		}
	}
	if len(kept) > 0 && (p.anyConflicts || p.anyRequires) {
		kept = w.consistent(reqs, kept)
	}
	for _, i := range kept {
		reqs[i].flags |= flagActive
		c[reqs[i].sku].holders++
	}
	w.scratch.rank = kept
	for i := range reqs {
		if r := &reqs[i]; r.reason == reasonNone && !r.active() {
			r.flags |= flagQueued
			c[r.sku].cands++
		}
	}
}

// consistent applies the releases of rule 5 to a user's kept requests:
// those whose requirements the kept licenses (themselves included) do not
// enable go, until none is left; then, walking in rank order, a request
// conflicting with a higher-ranked kept one goes; and again, until neither
// releases anything. Requirements go first: a license that cannot stay
// anyway must not push out one it conflicts with.
func (w *worker) consistent(reqs []request, kept []int32) []int32 {
	p := w.p
	slices.SortFunc(kept, func(a, b int32) int { return compareRank(&reqs[a], &reqs[b]) })
	acc := w.scratch.acc
	for {
		if p.anyRequires {
			for changed := true; changed; {
				changed = false
				acc.reset()
				for _, i := range kept {
					acc.or(p.combo(reqs[i].combo).plans)
				}
				n := 0
				for _, i := range kept {
					if c := p.combo(reqs[i].combo); c.requires != nil && !c.requires.subsetOf(acc) {
						changed = true
						continue
					}
					kept[n] = i
					n++
				}
				kept = kept[:n]
			}
		}
		if !p.anyConflicts {
			return kept
		}
		acc.reset()
		n := 0
		for _, i := range kept {
			c := p.combo(reqs[i].combo)
			if c.conflicts != nil && c.conflicts.intersects(acc) {
				continue // released: ranks below a kept license it conflicts with
			}
			acc.or(c.plans)
			kept[n] = i
			n++
		}
		if n == len(kept) {
			return kept
		}
		kept = kept[:n]
	}
}

// heldPlans sets acc to the plans of the user's requests holding a seat.
func (p *planner) heldPlans(reqs []request, acc bitset) {
	acc.reset()
	for i := range reqs {
		if reqs[i].active() {
			acc.or(p.combo(reqs[i].combo).plans)
		}
	}
}

// admissible decides whether the user of reqs may get r now, seats aside:
// no enabled plan of r conflicts with a plan the user holds (else blocked:
// the user's licenses only grow while the queue is walked), and every plan
// r requires is enabled by the user's licenses or by r itself (else later).
func (w *worker) admissible(reqs []request, r *request) verdict {
	p := w.p
	c := p.combo(r.combo)
	if c.conflicts == nil && c.requires == nil {
		return grant
	}
	acc := w.scratch.acc
	p.heldPlans(reqs, acc)
	if c.conflicts != nil && c.conflicts.intersects(acc) {
		return blocked
	}
	if c.requires != nil && !c.requires.subsetOfUnion(acc, c.plans) {
		return later
	}
	return grant
}

// compareLocal orders one user's candidates as the namespace's queue does:
// direct first, then higher group priority, then longer waiting, then SKU
// name (the user's name is the same for all of them).
func (w *worker) compareLocal(ui int32, reqs []request, a, b int32) int {
	ra, rb := &reqs[a], &reqs[b]
	if c := cmp.Compare(rankKey(rb), rankKey(ra)); c != 0 {
		return c
	}
	if c := cmp.Compare(w.p.waitingSince(ui, ra), w.p.waitingSince(ui, rb)); c != 0 {
		return c
	}
	return cmp.Compare(ra.sku, rb.sku)
}

// rankKey packs a request's rank among all requests for a seat: direct
// first, then higher priority (larger key first).
func rankKey(r *request) uint64 {
	k := uint64(uint32(r.prio) ^ 1<<31) // order-preserving int32 -> uint32
	if r.direct() {
		k |= 1 << 32
	}
	return k
}

// waitingSince is when the user started waiting for r's seat, in Unix
// nanoseconds: from the current status while it waits for a seat, else
// now (a request not yet waiting counts as now).
func (p *planner) waitingSince(ui int32, r *request) int64 {
	if r.cur == -1 {
		return p.now.UnixNano() // no current entry: not waiting (and the user object stays out of the cache)
	}
	if cur := p.current(&p.users[ui], r); cur != nil && cur.WaitingSince != nil && isWaiting(cur) {
		return cur.WaitingSince.UnixNano()
	}
	return p.now.UnixNano()
}

// candidates returns the indices of the user's requests still to be
// decided by the queue for the given supplies, in queue order.
func (w *worker) candidates(ui int32, reqs []request, want func(seatSupply) bool) []int32 {
	out := w.scratch.order[:0]
	for i := range reqs {
		r := &reqs[i]
		if r.flags&flagQueued != 0 && r.flags&(flagActive|flagDone) == 0 && want(w.p.skus[r.sku].supply) {
			out = append(out, int32(i))
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b int32) int { return w.compareLocal(ui, reqs, a, b) })
	}
	w.scratch.order = out
	return out
}

// walkAlone walks the queue for a user none of whose candidates asks for
// a scarce SKU: nobody else's request can change its outcome, so its own
// requests are walked in queue order, again until a walk grants nothing.
// Users with a scarce candidate are left to walkQueue.
func (w *worker) walkAlone(ui int32) {
	p := w.p
	u := &p.users[ui]
	if u.obj == nil || u.loser(ui) {
		return
	}
	reqs := p.requests(u)
	for i := range reqs {
		if r := &reqs[i]; r.flags&flagQueued != 0 && p.skus[r.sku].supply == supplyScarce {
			w.settleIndependent(ui, reqs)
			w.coupled = append(w.coupled, ui)
			return
		}
	}
	order := w.candidates(ui, reqs, func(s seatSupply) bool { return s == supplyAmple })
	for granted := true; granted; {
		granted = false
		for _, i := range order {
			r := &reqs[i]
			if r.flags&flagDone != 0 {
				continue
			}
			switch w.admissible(reqs, r) {
			case grant:
				r.flags |= flagActive | flagDone
				granted = true
			case blocked:
				r.flags |= flagDone
			}
		}
	}
}

// settleIndependent decides, for a user left to the namespace's queue,
// the candidates for ample SKUs whose turn in the queue cannot change
// anything. Such a candidate a has a seat whenever its turn comes, and:
//   - what it requires is enabled by the licenses the user held before
//     the queue (or by a itself), so it never waits for a dependency;
//   - no undecided candidate of the user that comes before a in the queue
//     conflicts with it or requires one of its plans (the user's own
//     candidates are ordered by what the user alone decides: rank,
//     waitingSince, SKU).
//
// At its turn, a is then granted unless it conflicts with a license the
// user holds or got before it (all decided already: held, or settled
// here), whatever the other users do. The candidates after it see it
// decided, at its turn or now alike, and none before it depends on it;
// conflicts are symmetric. So it is decided now, on the workers, and the
// serial walk has fewer candidates to go through.
func (w *worker) settleIndependent(ui int32, reqs []request) {
	p := w.p
	undecided := func(r *request) bool {
		return r.flags&flagQueued != 0 && r.flags&(flagActive|flagDone) == 0
	}
	held := w.scratch.union
	held.reset()
	for i := range reqs {
		if r := &reqs[i]; r.active() && r.flags&flagQueued == 0 {
			held.or(p.combo(r.combo).plans)
		}
	}
	for i := range reqs {
		a := &reqs[i]
		if !undecided(a) || p.skus[a.sku].supply != supplyAmple {
			continue
		}
		ca := p.combo(a.combo)
		if ca.requires != nil && !ca.requires.subsetOfUnion(held, ca.plans) {
			continue
		}
		independent := true
		for j := range reqs {
			o := &reqs[j]
			if j == i || !undecided(o) || w.compareLocal(ui, reqs, int32(j), int32(i)) > 0 {
				continue // o comes after a: a is decided before o's turn
			}
			co := p.combo(o.combo)
			if ca.conflicts != nil && ca.conflicts.intersects(co.plans) || co.requires != nil && co.requires.intersects(ca.plans) {
				independent = false
				break
			}
		}
		if !independent {
			continue
		}
		switch w.admissible(reqs, a) {
		case grant:
			a.flags |= flagActive | flagDone
		case blocked:
			a.flags |= flagDone
		}
	}
}

// failRest gives every request of the user that holds no seat the reason
// of rule 7, the first that holds: a conflict with a held license
// (MutuallyExclusivePlans), a requirement no held license enables
// (MissingDependency), else no free seat (InsufficientSeats). It counts
// the SKUs' new grants and waiting users.
func (w *worker) failRest(ui int32, c []seatCount) {
	p := w.p
	u := &p.users[ui]
	if u.obj == nil || u.loser(ui) {
		return
	}
	reqs := p.requests(u)
	acc := w.scratch.union
	p.heldPlans(reqs, acc)
	var deps []int32
	for i := range reqs {
		r := &reqs[i]
		if r.flags&flagQueued == 0 {
			continue
		}
		if r.active() {
			c[r.sku].granted++
			continue
		}
		cb := p.combo(r.combo)
		switch {
		case cb.conflicts != nil && cb.conflicts.intersects(acc):
			mine, theirs := -1, -1
			for pid := cb.plans.next(0); pid >= 0; pid = cb.plans.next(pid + 1) {
				if cs := p.conflicts[pid]; cs != nil {
					if q := cs.firstCommon(acc); q >= 0 {
						mine, theirs = int(pid), int(q)
						break
					}
				}
			}
			r.fail(reasonMutuallyExclusivePlans, w.message(msgConflict(int32(mine), r.sku, int32(theirs), p.heldProvider(reqs, int32(theirs)))))
		case cb.requires != nil && !cb.requires.subsetOfUnion(acc, cb.plans):
			r.reason = reasonMissingDependency // message below, once every reason is known
			deps = append(deps, int32(i))
		default:
			r.fail(reasonInsufficientSeats, p.skus[r.sku].seatMsg)
			c[r.sku].waiting++
		}
	}
	for _, i := range deps {
		r := &reqs[i]
		cb := p.combo(r.combo)
		defs := p.skus[r.sku].defs
		var mine, missing int32 = -1, -1
		for pid := cb.plans.next(0); pid >= 0; pid = cb.plans.next(pid + 1) {
			if d := defs[pid]; d != nil && d.requires != nil {
				if q := d.requires.firstNotInUnion(acc, cb.plans); q >= 0 {
					mine, missing = pid, q
					break
				}
			}
		}
		// The highest-ranked other request of the user that would enable
		// the missing plan, if any: the message names it, and the user is
		// not stalled while it waits for a seat.
		provider, waits := int32(-1), false
		best := -1
		for j := range reqs {
			o := &reqs[j]
			if int32(j) == i || o.combo < 0 || o.active() || !p.combo(o.combo).plans.has(missing) {
				continue
			}
			if best < 0 || outranks(o, &reqs[best]) {
				best = j
			}
		}
		if best >= 0 {
			provider = reqs[best].sku
			waits = reqs[best].reason == reasonInsufficientSeats
		}
		if waits {
			r.flags |= flagProviderWaits
		}
		r.fail(reasonMissingDependency, w.message(msgMissingDependency(mine, r.sku, missing, provider, waits)))
	}
}

// heldProvider returns the highest-ranked held SKU of the user enabling
// plan, or -1.
func (p *planner) heldProvider(reqs []request, plan int32) int32 {
	best := -1
	for i := range reqs {
		if r := &reqs[i]; r.active() && p.combo(r.combo).plans.has(plan) && (best < 0 || outranks(r, &reqs[best])) {
			best = i
		}
	}
	if best < 0 {
		return -1
	}
	return reqs[best].sku
}

// seatQueue is the namespace's queue for the scarce SKUs' seats.
type seatQueue struct {
	// lists holds, per scarce SKU (by ID), its candidates in queue order.
	lists [][]queued
	// coupled are the users with a candidate for a scarce SKU, ascending;
	// local[k] is the window of order holding coupled[k]'s candidates for
	// ample SKUs in queue order, walked along with its scarce ones (see
	// advance). upn[k] is the rank of coupled[k]'s case-folded
	// userPrincipalName among theirs, so that the queue compares integers.
	coupled []int32
	local   []localQueue
	order   []int32
	upn     []int32
}

// queued is a candidate in the namespace's queue: request r of user
// coupled[k], with the keys the queue sorts by: its rank (rankKey),
// waitingSince (Unix nanoseconds), the rank of the user's
// userPrincipalName (seatQueue.upn), then r's SKU. The lowest bit of upn
// (below the rank, so the order is unchanged) says whether the user has
// candidates for ample SKUs in the queue (see advance).
type queued struct {
	rank uint64
	wait int64
	r    *request
	upn  int32
	k    int32
}

// localQueue is a window of seatQueue.order and how far it was walked.
type localQueue struct {
	off, n, pos int32
}

// compareQueued orders the namespace's queue: direct first, then higher
// group priority, then longer waiting, then userPrincipalName, then the
// SKU (the SKU's rank for the user, once the rest is equal).
func compareQueued(a, b *queued) int {
	if a.rank != b.rank {
		return cmp.Compare(b.rank, a.rank)
	}
	if a.wait != b.wait {
		return cmp.Compare(a.wait, b.wait)
	}
	if a.upn != b.upn {
		return cmp.Compare(a.upn, b.upn)
	}
	return cmp.Compare(a.r.sku, b.r.sku)
}

// enqueue returns the queue entry of request r of user coupled[k].
func (p *planner) enqueue(k int32, r *request) queued {
	q := &p.queue
	upn := q.upn[k] << 1
	if q.local[k].n > 0 {
		upn |= 1
	}
	return queued{rank: rankKey(r), wait: p.waitingSince(q.coupled[k], r), r: r, upn: upn, k: k}
}

// upnRanks returns, per user of coupled, the rank of its case-folded
// userPrincipalName among theirs. Users in effect have distinct ones
// (rule 1), so the order is total.
func (p *planner) upnRanks(coupled []int32) []int32 {
	type named struct {
		upn string
		k   int32
	}
	byName := make([]named, len(coupled))
	for k, ui := range coupled {
		byName[k] = named{p.upn(ui), int32(k)}
	}
	// API servers list objects by name, which often follows the
	// userPrincipalName: the sort then finds the list (nearly) sorted.
	slices.SortFunc(byName, func(a, b named) int { return strings.Compare(a.upn, b.upn) })
	ranks := make([]int32, len(coupled))
	for i, n := range byName {
		ranks[n.k] = int32(i)
	}
	return ranks
}

// walkQueue walks the namespace's queue for the users that walkAlone left
// (those with a candidate for a scarce SKU): the scarce SKUs' candidates
// in queue order, each user's other candidates interleaved at their
// place, then again over what waits for a dependency, until a walk grants
// nothing.
func (p *planner) walkQueue() {
	w := p.workers[0]
	q := &p.queue
	var skus []int32
	q.lists = make([][]queued, len(p.skus))
	for id, s := range p.skus {
		if s != nil && s.supply == supplyScarce {
			skus = append(skus, int32(id))
			q.lists[id] = make([]queued, 0, s.cands) // every candidate of a scarce SKU is coupled
		}
	}
	if len(skus) == 0 {
		return
	}
	nc := 0
	for _, wk := range p.workers {
		nc += len(wk.coupled)
	}
	q.coupled = make([]int32, 0, nc)
	for _, wk := range p.workers { // workers hold ascending ranges of users
		q.coupled = append(q.coupled, wk.coupled...)
		wk.coupled = nil
	}
	q.upn = p.upnRanks(q.coupled)
	q.local = make([]localQueue, len(q.coupled))
	ample := 0
	for _, ui := range q.coupled {
		for _, r := range p.requests(&p.users[ui]) {
			if r.flags&flagQueued != 0 && r.flags&(flagActive|flagDone) == 0 && p.skus[r.sku].supply == supplyAmple {
				ample++
			}
		}
	}
	q.order = make([]int32, 0, ample)
	for k, ui := range q.coupled {
		reqs := p.requests(&p.users[ui])
		order := w.candidates(ui, reqs, func(s seatSupply) bool { return s == supplyAmple })
		q.local[k] = localQueue{off: int32(len(q.order)), n: int32(len(order))}
		q.order = append(q.order, order...)
		for i := range reqs {
			if r := &reqs[i]; r.flags&flagQueued != 0 && p.skus[r.sku].supply == supplyScarce {
				q.lists[r.sku] = append(q.lists[r.sku], p.enqueue(int32(k), r))
			}
		}
	}
	n := min(len(p.workers), len(skus))
	parallel(n, func(k int) {
		for j := k; j < len(skus); j += n {
			slices.SortFunc(q.lists[skus[j]], func(a, b queued) int { return compareQueued(&a, &b) })
		}
	})

	for retry := false; ; retry = true {
		if granted, deferred := p.walk(w, skus, retry); !granted || deferred == 0 {
			break
		}
	}
	*q = seatQueue{}
}

// walk walks the queue once: the scarce SKUs' lists merged by their heads,
// each user's candidates for ample SKUs at their place. The first walk
// goes over every candidate; the later ones (retry) over those that
// waited for a dependency (flagDeferred). It reports whether it granted a
// seat and how many candidates still wait for a dependency.
func (p *planner) walk(w *worker, skus []int32, retry bool) (granted bool, deferred int) {
	q := &p.queue
	for k := range q.local {
		q.local[k].pos = 0
	}
	h := &heads{retry: retry}
	for _, sku := range skus {
		c := cursor{sku: sku, list: q.lists[sku]}
		if h.skip(&c) {
			h.items = append(h.items, c)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := &h.items[0]
		e := &top.list[top.pos]
		if e.upn&1 != 0 {
			g, d := p.advance(w, e.k, e, retry)
			granted, deferred = granted || g, deferred+d
		}
		switch p.decide(w, e) {
		case grant:
			granted = true
		case later:
			deferred++
		}
		top.pos++
		if p.skus[top.sku].free <= 0 || !h.skip(top) {
			heap.Pop(h) // done, or no free seat left: the rest fails
		} else {
			heap.Fix(h, 0)
		}
	}
	for k := range q.coupled {
		g, d := p.advance(w, int32(k), nil, retry)
		granted, deferred = granted || g, deferred+d
	}
	return granted, deferred
}

// eligible reports whether a walk decides candidate r: every undecided
// candidate on the first walk, those waiting for a dependency on a retry.
func eligible(r *request, retry bool) bool {
	if r.flags&(flagActive|flagDone) != 0 {
		return false
	}
	return !retry || r.flags&flagDeferred != 0
}

// advance decides the candidates for ample SKUs of user coupled[k] that
// come before its candidate e in the queue (all of them when e is nil: the
// end of the walk), and reports whether it granted one and how many wait
// for a dependency.
func (p *planner) advance(w *worker, k int32, e *queued, retry bool) (granted bool, deferred int) {
	q := &p.queue
	lq := &q.local[k]
	if lq.pos == lq.n {
		return false, 0
	}
	order := q.order[lq.off : lq.off+lq.n]
	reqs := p.requests(&p.users[q.coupled[k]])
	for ; lq.pos < lq.n; lq.pos++ {
		r := &reqs[order[lq.pos]]
		if !eligible(r, retry) {
			continue
		}
		mine := p.enqueue(k, r)
		if e != nil && compareQueued(&mine, e) > 0 {
			return granted, deferred
		}
		switch p.decide(w, &mine) {
		case grant:
			granted = true
		case later:
			deferred++
		}
	}
	return granted, deferred
}

// decide gives candidate e a seat if its SKU has one free and its user's
// licenses admit it; a candidate whose dependency is not met yet is
// marked to be tried again on the next walk.
func (p *planner) decide(w *worker, e *queued) verdict {
	r := e.r
	s := p.skus[r.sku]
	v := blocked
	if s.supply == supplyAmple || s.free > 0 {
		v = grant
		if c := p.combo(r.combo); c.conflicts != nil || c.requires != nil {
			v = w.admissible(p.requests(&p.users[p.queue.coupled[e.k]]), r)
		}
	}
	switch v {
	case grant:
		r.flags = r.flags&^flagDeferred | flagActive | flagDone
		s.free--
	case blocked:
		r.flags = r.flags&^flagDeferred | flagDone
	case later:
		r.flags |= flagDeferred
	}
	return v
}

// cursor walks one scarce SKU's list.
type cursor struct {
	sku  int32
	list []queued
	pos  int
}

// heads is a heap of cursors by their next candidate.
type heads struct {
	retry bool
	items []cursor
}

// skip moves c to its next candidate the walk decides, and reports
// whether there is one.
func (h *heads) skip(c *cursor) bool {
	for ; c.pos < len(c.list); c.pos++ {
		if eligible(c.list[c.pos].r, h.retry) {
			return true
		}
	}
	return false
}

func (h *heads) Len() int { return len(h.items) }
func (h *heads) Less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return compareQueued(&a.list[a.pos], &b.list[b.pos]) < 0
}
func (h *heads) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *heads) Push(x any)    { h.items = append(h.items, x.(cursor)) }
func (h *heads) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
