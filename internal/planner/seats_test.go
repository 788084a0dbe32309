package planner

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestSortQueueSelectsTheFirstInLine checks the partial ordering of seat
// candidates against a full sort, on queues large enough for the
// quickselect path: the candidates before the cut must be exactly the
// first free ones in (direct, priority, userPrincipalName) order.
func TestSortQueueSelectsTheFirstInLine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 1 + r.IntN(400)
		p := &planner{users: make([]userInfo, n)}
		p.workers = []*worker{newWorker(p, 0)}
		q := make([]queued, n)
		for i := range q {
			upn := fmt.Sprintf("u%05d@x.io", r.IntN(100000))
			p.users[i].obj = &licv1.UserLicense{Spec: licv1.UserLicenseSpec{UserPrincipalName: upn + fmt.Sprint(i)}}
			req := request{prio: int32(r.IntN(3)), flags: requestFlags(r.IntN(2))} // few ranks: big ties
			if round%3 == 0 {
				req.prio = 0 // a single rank
			}
			q[i] = queued{key: queueKey(&req), user: int32(i)}
		}
		upn := func(c queued) string { return p.users[c.user].obj.Spec.UserPrincipalName }
		want := slices.Clone(q)
		slices.SortFunc(want, func(a, b queued) int {
			if c := cmp.Compare(b.key, a.key); c != 0 {
				return c
			}
			return cmp.Compare(upn(a), upn(b))
		})
		free := 1 + r.IntN(n)
		if free < n {
			p.workers[0].sortQueue(q, free)
		}
		got := slices.Clone(q[:free])
		slices.SortFunc(got, func(a, b queued) int { return cmp.Compare(a.user, b.user) })
		first := slices.Clone(want[:free])
		slices.SortFunc(first, func(a, b queued) int { return cmp.Compare(a.user, b.user) })
		if !slices.Equal(got, first) {
			t.Fatalf("round %d (n=%d free=%d): wrong candidates before the cut", round, n, free)
		}
	}
}
