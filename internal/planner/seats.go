package planner

import (
	"cmp"
	"slices"
)

// seatCount is one worker's count of the requests of one SKU.
type seatCount struct {
	requested, holders, cands, granted int64
	next                               int64 // where the worker's next candidate goes in skuInfo.cands
}

// allocateSeats decides, SKU by SKU, which candidates (requests that passed
// every other check) hold a seat. Users already holding one keep it, even
// above capacity; the free seats, if any, go to the other candidates in
// queue order; the rest wait with reason InsufficientSeats.
//
// Workers count their users' requests per SKU; on a SKU with enough free
// seats every candidate gets one, and only the SKUs short of seats need
// their candidates collected and ranked, which workers do SKU by SKU.
// Nothing depends on how the users were split.
func (p *planner) allocateSeats() {
	counts := make([][]seatCount, len(p.workers))
	p.eachUserRange(func(w *worker, lo, hi int) {
		c := make([]seatCount, len(p.skus))
		p.eachCountedRequest(lo, hi, func(_, _ int32, r *request) {
			sc := &c[r.sku]
			sc.requested++
			switch {
			case r.reason != reasonNone:
			case r.held():
				sc.holders++
				r.flags |= flagActive
			default:
				sc.cands++
			}
		})
		counts[w.id] = c
	})
	// A SKU short of seats gets one candidate list, each worker writing
	// its candidates to its own part of it.
	var short []*skuInfo
	for id, s := range p.skus {
		if s == nil {
			continue
		}
		var cands int64
		for _, c := range counts {
			s.requested += c[id].requested
			s.holders += c[id].holders
			c[id].next = cands
			cands += c[id].cands
		}
		if cands > s.capacity-s.holders {
			s.cands = make([]queued, cands)
			short = append(short, s)
		}
	}
	p.eachUserRange(func(w *worker, lo, hi int) {
		c := counts[w.id]
		p.eachCountedRequest(lo, hi, func(ui, k int32, r *request) {
			if r.reason != reasonNone || r.held() {
				return
			}
			sc := &c[r.sku]
			if s := p.skus[r.sku]; s.cands != nil {
				s.cands[sc.next] = queued{key: queueKey(r), user: ui, req: k}
				sc.next++
				return
			}
			r.flags |= flagActive
			sc.granted++
		})
	})
	for id, s := range p.skus {
		if s != nil {
			for _, c := range counts {
				s.granted += c[id].granted
			}
		}
	}
	n := min(len(p.workers), len(short))
	parallel(n, func(k int) {
		for j := k; j < len(short); j += n {
			p.workers[k].queue(short[j])
		}
	})
}

// queue gives the free seats of a SKU short of seats to the first of its
// candidates and makes the others wait.
func (w *worker) queue(s *skuInfo) {
	p := w.p
	free := max(s.capacity-s.holders, 0)
	if free > 0 {
		w.sortQueue(s.cands, int(free))
	}
	for k, q := range s.cands {
		r := &p.requests(&p.users[q.user])[q.req]
		if int64(k) < free {
			r.flags |= flagActive
			s.granted++
		} else {
			r.fail(reasonInsufficientSeats, s.seatMsg)
			s.waiting++
		}
	}
	s.cands = nil
}

// eachCountedRequest calls fn for every request of users lo..hi-1 in
// effect on an existing SKU: the requests that count for the SKU's status.
func (p *planner) eachCountedRequest(lo, hi int, fn func(ui, k int32, r *request)) {
	for ui := lo; ui < hi; ui++ {
		u := &p.users[ui]
		if u.obj == nil || u.loser(int32(ui)) {
			continue
		}
		reqs := p.requests(u)
		for k := range reqs {
			if r := &reqs[k]; p.skus[r.sku] != nil {
				fn(int32(ui), int32(k), r)
			}
		}
	}
}

// queued is a candidate for a free seat: request req of user, with its
// rank key (direct assignments first, then by highest group priority;
// larger key first).
type queued struct {
	key  uint64
	user int32
	req  int32
}

func queueKey(r *request) uint64 {
	k := uint64(uint32(r.prio) ^ 1<<31) // order-preserving int32 -> uint32
	if r.direct() {
		k |= 1 << 32
	}
	return k
}

// sortQueue moves the candidates that get the free seats of a SKU to the
// front of q: direct assignments first, then by highest group priority,
// then by userPrincipalName (unique among the users in effect). Only the
// rank that straddles the last free seat is ordered by name; beyond that
// the order does not matter, so no full sort is needed.
func (w *worker) sortQueue(q []queued, free int) {
	p := w.p
	keys := w.scratch.keys[:0]
	if cap(keys) < len(q) {
		keys = make([]uint64, 0, len(q))
	}
	for _, c := range q {
		keys = append(keys, c.key)
	}
	w.scratch.keys = keys
	slices.Sort(keys)
	cut := keys[len(keys)-free] // the rank of the last free seat
	// Partition: ranks above cut, then cut, then below.
	above, at := 0, 0
	for i := range q {
		if q[i].key > cut {
			q[i], q[above] = q[above], q[i]
			above++
		}
	}
	at = above
	for i := above; i < len(q); i++ {
		if q[i].key == cut {
			q[i], q[at] = q[at], q[i]
			at++
		}
	}
	if at > free {
		p.selectByUPN(q[above:at], free-above)
	}
}

// selectByUPN reorders q so that its first k entries are the k with the
// smallest userPrincipalNames (in no particular order): a quickselect
// with a deterministic middle pivot, linear on average, where sorting the
// whole rank (which can hold most users of a SKU) would not be.
func (p *planner) selectByUPN(q []queued, k int) {
	upn := func(c queued) string { return p.users[c.user].obj.Spec.UserPrincipalName }
	for len(q) > 16 && k > 0 && k < len(q) {
		pivot := upn(q[len(q)/2])
		// Three-way partition: < pivot, == pivot, > pivot.
		lt, i, gt := 0, 0, len(q)
		for i < gt {
			switch c := cmp.Compare(upn(q[i]), pivot); {
			case c < 0:
				q[lt], q[i] = q[i], q[lt]
				lt++
				i++
			case c > 0:
				gt--
				q[gt], q[i] = q[i], q[gt]
			default:
				i++
			}
		}
		switch {
		case k <= lt:
			q = q[:lt]
		case k >= gt:
			q, k = q[gt:], k-gt
		default:
			return // the k-th smallest is among the pivot's equals
		}
	}
	if k > 0 && k < len(q) {
		slices.SortFunc(q, func(a, b queued) int { return cmp.Compare(upn(a), upn(b)) })
	}
}
