package planner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// noDuplicatePlans is the DuplicatePlans condition of most users.
var noDuplicatePlans = cond{metav1.ConditionFalse, licv1.ReasonNoDuplicatePlans,
	"no service plan is enabled through more than one license"}

// maxListedPlans bounds the plans a DuplicatePlans message names, and
// maxListedSKUs the SKUs named per plan and as redundant.
const (
	maxListedPlans = 5
	maxListedSKUs  = 3
)

// duplicatePlans returns the DuplicatePlans condition of a user (rule 10):
// True when a service plan is enabled through two of the user's Active
// licenses (Disabled ones are off),
// naming the plans and the licenses that are redundant (every plan they
// enable comes with the user's other licenses). It is a warning only.
func (w *worker) duplicatePlans(reqs []request) cond {
	p := w.p
	if !w.anyOverlap(reqs) {
		return noDuplicatePlans
	}
	seen, dup := w.scratch.seen, w.scratch.dup
	seen.reset()
	dup.reset()
	for i := range reqs {
		if p.inEffect(&reqs[i]) {
			plans := p.combo(reqs[i].combo).plans
			for w := range seen {
				dup[w] |= seen[w] & plans[w]
				seen[w] |= plans[w]
			}
		}
	}
	if dup.empty() {
		return noDuplicatePlans
	}

	b := w.scratch.text[:0]
	if dup.count() == 1 {
		b = append(b, "service plan "...)
	} else {
		b = append(b, "service plans "...)
	}
	listed := 0
	for pid := dup.next(0); pid >= 0; pid = dup.next(pid + 1) {
		if listed == maxListedPlans {
			b = append(b, ", and more"...)
			break
		}
		if listed > 0 {
			b = append(b, "; "...)
		}
		b = append(b, p.planNames[pid]...)
		b = append(b, " ("...)
		named := 0
		for i := range reqs {
			if p.inEffect(&reqs[i]) && p.combo(reqs[i].combo).plans.has(pid) {
				if named == maxListedSKUs {
					b = append(b, ", ..."...)
					break
				}
				if named > 0 {
					b = append(b, ", "...)
				}
				b = append(b, p.skuNames[reqs[i].sku]...)
				named++
			}
		}
		b = append(b, ')')
		listed++
	}
	b = append(b, " enabled through more than one license; "...)

	redundant := w.redundant(reqs, dup)
	switch len(redundant) {
	case 0:
		b = append(b, "no license is fully redundant: disable the duplicate plans on one of them"...)
	default:
		for k, ri := range redundant {
			if k == maxListedSKUs {
				b = append(b, ", ..."...)
				break
			}
			if k > 0 {
				b = append(b, ", "...)
			}
			b = append(b, p.skuNames[reqs[ri].sku]...)
		}
		if len(redundant) == 1 {
			b = append(b, " is redundant: every plan it enables comes with the user's other licenses; remove its assignment to free a seat"...)
		} else {
			b = append(b, " are redundant: every plan they enable comes with the user's other licenses; remove their assignments to free seats"...)
		}
	}
	w.scratch.text = b
	return cond{metav1.ConditionTrue, licv1.ReasonDuplicatePlans, w.text(b)}
}

// maxOverlapCache bounds the combos whose pairwise overlaps are cached.
const maxOverlapCache = 1024

// anyOverlap reports whether two Active requests share a plan. Pairs of
// combos are looked up in a lazily filled table, so the common case costs
// a few byte loads instead of bitset operations.
func (w *worker) anyOverlap(reqs []request) bool {
	for i := range reqs {
		if !w.p.inEffect(&reqs[i]) {
			continue
		}
		for j := i + 1; j < len(reqs); j++ {
			if w.p.inEffect(&reqs[j]) && w.overlap(reqs[i].combo, reqs[j].combo) {
				return true
			}
		}
	}
	return false
}

func (w *worker) overlap(a, b int32) bool {
	if a > b {
		a, b = b, a
	}
	if int(b) >= maxOverlapCache {
		return w.p.combo(a).plans.intersects(w.p.combo(b).plans)
	}
	for int(b) >= len(w.overlaps) {
		w.overlaps = append(w.overlaps, nil)
	}
	row := w.overlaps[b]
	if int(a) >= len(row) {
		row = append(row, make([]uint8, int(b)+1-len(row))...)
		w.overlaps[b] = row
	}
	if row[a] == 0 {
		row[a] = 1
		if w.p.combo(a).plans.intersects(w.p.combo(b).plans) {
			row[a] = 2
		}
	}
	return row[a] == 2
}

// redundant returns, in SKU order, the Active requests sharing a plan in
// dup whose plans all come with the other Active requests that are not
// redundant themselves. It removes the lowest-ranked first, so that of two
// identical licenses only the lower-ranked one is named.
func (w *worker) redundant(reqs []request, dup bitset) []int32 {
	p := w.p
	order := w.scratch.rank[:0]
	for i := range reqs {
		if p.inEffect(&reqs[i]) && p.combo(reqs[i].combo).plans.intersects(dup) {
			order = append(order, int32(i))
		}
	}
	// Lowest rank first.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && outranks(&reqs[order[j-1]], &reqs[order[j]]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	w.scratch.rank = order
	var out []int32
	others := w.scratch.union
	for _, ri := range order {
		others.reset()
		for j := range reqs {
			if int32(j) != ri && p.inEffect(&reqs[j]) && !containsInt32(out, int32(j)) {
				others.or(p.combo(reqs[j].combo).plans)
			}
		}
		if p.combo(reqs[ri].combo).plans.subsetOf(others) {
			out = append(out, ri)
		}
	}
	// SKU order for the message.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// inEffect reports whether a request is Active: it holds a seat of a SKU
// with a usable subscription.
func (p *planner) inEffect(r *request) bool { return r.active() && !p.skus[r.sku].inactive }
