package planner

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// compileSelector turns a memberSelector into a labels.Selector. A nil
// selector selects nobody (nil result), {} selects everyone. An invalid
// selector selects nobody and returns a message saying why; the message
// does not depend on map iteration order.
func compileSelector(ls *metav1.LabelSelector) (labels.Selector, string) {
	if ls == nil {
		return nil, ""
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err == nil {
		return sel, ""
	}
	// LabelSelectorAsSelector walks matchLabels in map order: find the
	// first error in key order instead, so the message is deterministic.
	keys := make([]string, 0, len(ls.MatchLabels))
	for k := range ls.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, e := labels.NewRequirement(k, selection.Equals, []string{ls.MatchLabels[k]}); e != nil {
			return nil, e.Error()
		}
	}
	return nil, err.Error()
}

// keyIndex lists, for one label key, the users (ascending Input.Users
// indices) having each value that some selector asks for, and all users
// having the key when some selector asks whether it exists.
type keyIndex struct {
	key     string
	vals    map[string]*[]int32
	wantAll bool
	all     []int32
}

// labelIndex indexes the users in effect by the label values that group
// selectors require (In, Equals, Exists), so that a selector is evaluated
// only against users carrying its required labels instead of everyone.
type labelIndex struct {
	keys  []*keyIndex
	byKey map[string]*keyIndex
}

// indexable reports whether a requirement can be answered from the index.
func indexable(op selection.Operator) bool {
	switch op {
	case selection.In, selection.Equals, selection.DoubleEquals, selection.Exists:
		return true
	}
	return false
}

// newLabelIndex prepares an index for the label values the group
// selectors require; users are added with addUser.
func (p *planner) newLabelIndex() *labelIndex {
	idx := &labelIndex{byKey: map[string]*keyIndex{}}
	for _, gi := range p.groupOrder {
		sel := p.groups[gi].selector
		if sel == nil {
			continue
		}
		reqs, _ := sel.Requirements()
		for _, r := range reqs {
			if !indexable(r.Operator()) {
				continue
			}
			ki := idx.byKey[r.Key()]
			if ki == nil {
				ki = &keyIndex{key: r.Key(), vals: map[string]*[]int32{}}
				idx.byKey[r.Key()] = ki
				idx.keys = append(idx.keys, ki)
			}
			if r.Operator() == selection.Exists {
				ki.wantAll = true
				continue
			}
			for _, v := range r.ValuesUnsorted() {
				if ki.vals[v] == nil {
					ki.vals[v] = new([]int32)
				}
			}
		}
	}
	// Size the lists for users spread evenly over the values asked for
	// (plus a quarter): most lists then never grow, and the guesses of a
	// key add up to about the number of users at most.
	for _, ki := range idx.keys {
		if n := len(ki.vals); n > 0 {
			guess := len(p.in.Users)/n + len(p.in.Users)/n/4 + 8
			for _, l := range ki.vals {
				*l = make([]int32, 0, guess)
			}
		}
		if ki.wantAll {
			ki.all = make([]int32, 0, len(p.in.Users))
		}
	}
	return idx
}

func (ki *keyIndex) add(v string, u int32) {
	if ki.wantAll {
		ki.all = appendDoubling(ki.all, u)
	}
	if l := ki.vals[v]; l != nil {
		*l = appendDoubling(*l, u)
	}
}

// appendDoubling appends like append but doubles the capacity of large
// slices too (append grows them by 1.25x, which allocates about five times
// the final size over a long run of appends).
func appendDoubling(s []int32, v int32) []int32 {
	if len(s) == cap(s) && len(s) >= 256 {
		s = slices.Grow(s, len(s))
	}
	return append(s, v)
}

// requirementUsers returns the users satisfying an indexable requirement,
// ascending.
func (idx *labelIndex) requirementUsers(r *labels.Requirement) []int32 {
	ki := idx.byKey[r.Key()]
	if r.Operator() == selection.Exists {
		return ki.all
	}
	var out []int32
	n := 0
	for _, v := range r.ValuesUnsorted() {
		l := *ki.vals[v]
		if len(l) == 0 {
			continue
		}
		n++
		if n == 1 {
			out = l // a single list needs no copy
			continue
		}
		out = mergeSorted(out, l)
	}
	return out
}

// mergeSorted returns the union of two ascending lists of distinct users.
func mergeSorted(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// intersectSorted returns the users in both ascending lists; small is
// walked and each element is searched in large from the last match on.
func intersectSorted(small, large []int32) []int32 {
	var out []int32
	for _, x := range small {
		k, found := slices.BinarySearch(large, x)
		if found {
			out = append(out, x)
		}
		large = large[k:]
		if len(large) == 0 {
			break
		}
	}
	return out
}

// selectUsers returns the users a non-empty selector matches, ascending.
// Indexable requirements are answered from the index and intersected,
// smallest first; only other requirements (NotIn, DoesNotExist, ...) are
// evaluated per candidate, and only when there are such requirements. A
// selector without indexable requirement is evaluated against everyone.
func (p *planner) selectUsers(sel labels.Selector, idx *labelIndex) []int32 {
	reqs, _ := sel.Requirements()
	var lists [][]int32
	rest := false
	for k := range reqs {
		if indexable(reqs[k].Operator()) {
			lists = append(lists, idx.requirementUsers(&reqs[k]))
		} else {
			rest = true
		}
	}
	var cands []int32
	if len(lists) == 0 {
		for u := range p.users {
			if info := &p.users[u]; info.obj != nil && !info.loser(int32(u)) {
				cands = append(cands, int32(u))
			}
		}
	} else {
		slices.SortFunc(lists, func(a, b []int32) int { return len(a) - len(b) })
		cands = lists[0]
		for _, l := range lists[1:] {
			if len(cands) == 0 {
				break
			}
			cands = intersectSorted(cands, l)
		}
	}
	if !rest && !p.dupUPNs {
		return cands
	}
	out := make([]int32, 0, len(cands))
	for _, u := range cands {
		if !p.users[u].loser(u) && (!rest || sel.Matches(labels.Set(p.users[u].obj.Labels))) {
			out = append(out, u)
		}
	}
	return out
}

// resolveMembers computes the members of every group and, per user, the
// groups it is a member of (in name order). Users that lost a
// userPrincipalName tie are nobody's members.
func (p *planner) resolveMembers(idx *labelIndex) {
	// Groups are independent: large namespaces resolve them in parallel,
	// dealt out round-robin, each worker with its own marks.
	n := len(p.workers)
	parallel(n, func(k int) {
		seen := newBitset(len(p.users))
		for j := k; j < len(p.groupOrder); j += n {
			p.resolveGroup(p.groupOrder[j], idx, seen)
		}
	})

	// CSR of user -> groups, filled in group name order: the groups of
	// user u are userGroups[groupOffs[u]:groupOffs[u+1]].
	offs := make([]int32, len(p.users)+1)
	for _, gi := range p.groupOrder {
		for _, m := range p.groups[gi].members {
			offs[m+1]++
		}
	}
	for i := 1; i < len(offs); i++ {
		offs[i] += offs[i-1]
	}
	// Fill with offs[m] as user m's cursor: it ends at user m+1's start,
	// so shifting offs up by one restores the starts (no copy of offs).
	p.userGroups = make([]int32, offs[len(p.users)])
	for _, gi := range p.groupOrder {
		for _, m := range p.groups[gi].members {
			p.userGroups[offs[m]] = gi
			offs[m]++
		}
	}
	copy(offs[1:], offs[:len(p.users)])
	offs[0] = 0
	p.groupOffs = offs
}

// groupsOf returns the groups (Input.Groups indices, in name order) user
// ui is a member of.
func (p *planner) groupsOf(ui int32) []int32 {
	return p.userGroups[p.groupOffs[ui]:p.groupOffs[ui+1]]
}

// resolveGroup computes the members and unresolved member names of one
// group. seen is an empty set of users on entry and on return.
func (p *planner) resolveGroup(gi int32, idx *labelIndex, seen bitset) {
	g := &p.groups[gi]
	var selected []int32
	switch {
	case g.selector == nil:
	case g.selector.Empty():
		selected = make([]int32, 0, len(p.users))
		for u := range p.users {
			if info := &p.users[u]; info.obj != nil && !info.loser(int32(u)) {
				selected = append(selected, int32(u))
			}
		}
	default:
		selected = p.selectUsers(g.selector, idx)
	}
	if len(g.obj.Spec.Members) == 0 {
		g.members = selected // read-only from here on, so sharing an index list is fine
		return
	}

	g.members = make([]int32, 0, len(g.obj.Spec.Members)+len(selected))
	for _, upn := range g.obj.Spec.Members {
		if u, ok := p.byUPN[foldUPN(upn)]; ok {
			if !seen.has(u) {
				seen.set(u)
				g.members = append(g.members, u)
			}
		} else {
			g.unresolved = append(g.unresolved, upn)
		}
	}
	for _, u := range selected {
		if !seen.has(u) {
			seen.set(u)
			g.members = append(g.members, u)
		}
	}
	for _, u := range g.members {
		seen.unset(u)
	}
	slices.Sort(g.members)
	slices.Sort(g.unresolved)
	g.unresolved = slices.Compact(g.unresolved)
}
