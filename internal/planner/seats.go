package planner

import (
	"cmp"
	"slices"
)

// allocateSeats decides, SKU by SKU, which candidates (requests that passed
// every other check) hold a seat. Users already holding one keep it, even
// above capacity; the free seats, if any, go to the other candidates in
// queue order; the rest wait with reason InsufficientSeats.
func (p *planner) allocateSeats() {
	p.eachCountedRequest(func(_, _ int32, r *request, s *skuInfo) {
		s.requested++
		switch {
		case r.reason != reasonNone:
		case r.held():
			s.holders++
			r.flags |= flagActive
		default:
			s.ncands++
		}
	})
	// Only a SKU short of seats needs its candidates in a queue; on the
	// others every candidate gets a seat.
	scarce := false
	for _, s := range p.skus {
		if s != nil && int64(s.ncands) > s.capacity-s.holders {
			s.cands = make([]queued, 0, s.ncands)
			scarce = true
		}
	}
	p.eachCountedRequest(func(ui, k int32, r *request, s *skuInfo) {
		if r.reason != reasonNone || r.held() {
			return
		}
		if s.cands == nil {
			r.flags |= flagActive
			s.granted++
			return
		}
		s.cands = append(s.cands, queued{key: queueKey(r), user: ui, req: k})
	})
	if !scarce {
		return
	}
	for _, s := range p.skus {
		if s == nil || s.cands == nil {
			continue
		}
		free := max(s.capacity-s.holders, 0)
		if free > 0 {
			p.sortQueue(s.cands, int(free))
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
}

// eachCountedRequest calls fn for every request of a user in effect on an
// existing SKU: the requests that count for the SKU's status.
func (p *planner) eachCountedRequest(fn func(ui, k int32, r *request, s *skuInfo)) {
	for ui := range p.users {
		u := &p.users[ui]
		if u.obj == nil || u.loser(int32(ui)) {
			continue
		}
		for k := range p.requests(u) {
			r := &p.requests(u)[k]
			if s := p.skus[r.sku]; s != nil {
				fn(int32(ui), int32(k), r, s)
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
func (p *planner) sortQueue(q []queued, free int) {
	w := p.workers[0]
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
		pivot := upn(q[len(q)/2]) // an element of q: the < and > parts are strictly smaller than q
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
