package planner

import (
	"fmt"
	"math/bits"
	"runtime"
	"runtime/debug"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxWorkers bounds the goroutines of one Plan call.
const maxWorkers = 8

// minUsersPerWorker is the least number of users worth a goroutine; smaller
// namespaces are planned by one. A variable so that tests can exercise the
// parallel paths on small namespaces.
var minUsersPerWorker = 4096

// worker holds what one goroutine of Plan owns: scratch buffers, slabs for
// the statuses it builds, request chunks, caches in front of the shared
// intern tables, local intern tables (content-keyed, so two workers may
// hold equal entries), and its share of the group tallies.
type worker struct {
	p  *planner
	id int

	scratch   scratch
	slabs     slabs
	reqChunks [][]request

	comboCache map[string]int32   // front of planner.combos
	unionCache map[[2]int32]int32 // union of two combos of one SKU
	msgCache   map[msgKey]int32   // front of planner.msgs
	overlaps   [][]uint8          // [b][a], a <= b: 0 unknown, 1 disjoint, 2 overlapping

	texts     map[string]string // composed messages
	allActive []string          // Ready message of users with n licenses, all Active
	userConds map[userConds][]metav1.Condition
	// lastConds is the entry of userConds used last, by number of
	// licenses (mod 8).
	lastConds [8]struct {
		key  userConds
		list []metav1.Condition
	}
	byPacked map[uint64]int32 // assignedBy lists of two or three labels (in byLists), see packLabels
	byLists  store[[]string]
	// recentLists caches byPacked, see sourceList.
	recentLists [1 << recentListsBits]struct {
		key uint64
		id  int32
	}
	grantLists map[[4]int32][]string // Grants lists of up to four SKUs (IDs + 1, 0-padded)

	tallies []groupTally // per Input.Groups index; nil for worker 0, which tallies in place

	// coupled are its users with a candidate for a scarce SKU, left to
	// the namespace's queue (see walkAlone).
	coupled []int32
	// composed are license messages with notes, see licenseMessage.
	composed map[[3]int32]string
	// notes are the messages of ignored sources (flagNote) of the requests
	// of its users, by noteKey.
	notes map[int64]int32
}

func newWorker(p *planner, id int) *worker {
	w := &worker{
		p:          p,
		id:         id,
		comboCache: map[string]int32{},
		unionCache: map[[2]int32]int32{},
		msgCache:   map[msgKey]int32{},
		texts:      map[string]string{},
		userConds:  map[userConds][]metav1.Condition{},
		byPacked:   map[uint64]int32{},
		grantLists: map[[4]int32][]string{},
		composed:   map[[3]int32]string{},
		notes:      map[int64]int32{},
	}
	return w
}

// workerCount returns how many goroutines plan n users.
func workerCount(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), maxWorkers, n/max(minUsersPerWorker, 1)))
}

// eachUserRange splits the users into one contiguous range per worker and
// runs fn on every range, in parallel when there are several.
func (p *planner) eachUserRange(fn func(w *worker, lo, hi int)) {
	n := len(p.users)
	parallel(len(p.workers), func(k int) {
		fn(p.workers[k], n*k/len(p.workers), n*(k+1)/len(p.workers))
	})
}

// parallel runs fn(0..n-1), each in its own goroutine but the first, and
// waits for all. A panic in any of them is re-raised in the caller's
// goroutine once all have finished, so that the caller (the reconciler)
// can recover it: a panic in a goroutine of its own would crash the
// process.
func parallel(n int, fn func(k int)) {
	if n <= 1 {
		if n == 1 {
			fn(0)
		}
		return
	}
	var (
		wg       sync.WaitGroup
		once     sync.Once
		panicked any
	)
	run := func(k int) {
		defer func() {
			if v := recover(); v != nil {
				once.Do(func() { panicked = &workerPanic{worker: k, value: v, stack: debug.Stack()} })
			}
		}()
		fn(k)
	}
	for k := 1; k < n; k++ {
		wg.Go(func() { run(k) })
	}
	run(0)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}

// workerPanic is a panic of one of Plan's goroutines, re-raised in the
// caller's goroutine with the original stack.
type workerPanic struct {
	worker int
	value  any
	stack  []byte
}

func (p *workerPanic) Error() string {
	return fmt.Sprintf("planner worker %d panicked: %v\n%s", p.worker, p.value, p.stack)
}

// prepareResults gives every worker but the first its own group tallies
// (the first tallies into the groups directly).
func (p *planner) prepareResults() {
	for _, w := range p.workers[1:] {
		if w.tallies == nil {
			w.tallies = make([]groupTally, len(p.groups))
		}
	}
}

// tally returns the tally of group gi that worker w adds to.
func (w *worker) tally(gi int32) *groupTally {
	if w.tallies == nil {
		return &w.p.groups[gi].tally
	}
	return &w.tallies[gi]
}

// mergeTallies adds the tallies of workers 1.. to the groups' own (which
// worker 0 filled). Every sum is commutative and the failure list keeps
// the first MaxGroupFailures in sorted order, so the result does not
// depend on how users were split.
func (p *planner) mergeTallies() {
	for _, w := range p.workers[1:] {
		for gi := range w.tallies {
			t, g := &w.tallies[gi], &p.groups[gi]
			if g.obj == nil {
				continue
			}
			g.tally.errors += t.errors
			for r := range t.byReason {
				g.tally.byReason[r] += t.byReason[r]
			}
			if t.waiting != nil {
				if g.tally.waiting == nil {
					g.tally.waiting = make([]int64, len(g.skus))
				}
				for k := range t.waiting {
					g.tally.waiting[k] += t.waiting[k]
				}
			}
			for _, f := range t.failures.items {
				p.offerFailure(&g.tally.failures, f)
			}
		}
		w.tallies = nil
	}
}

// storeBase is the size of the first chunk of a store; chunk k holds
// storeBase<<k entries, so a fixed directory of 48 chunks never fills.
const storeBase = 1 << 10

// store is an append-only list in chunks behind a fixed directory:
// appending never moves an entry, so an entry may be read without a lock
// by whoever learnt its index under the table's lock.
type store[T any] struct {
	dir [48][]T
	n   int64
}

// locate returns the chunk and offset of entry i.
func locate(i int64) (int, int64) {
	k := bits.Len64(uint64(i/storeBase+1)) - 1
	return k, i - storeBase*(1<<k-1)
}

func (s *store[T]) at(i int32) T {
	k, off := locate(int64(i))
	return s.dir[k][off]
}

// add appends v (the caller holds the table's lock) and returns its index.
// Chunks are allocated at full length and never resliced, so a reader's
// view of a chunk never changes under it.
func (s *store[T]) add(v T) int32 {
	k, off := locate(s.n)
	if s.dir[k] == nil {
		s.dir[k] = make([]T, storeBase<<k)
	}
	s.dir[k][off] = v
	s.n++
	return int32(s.n - 1)
}

// comboTable interns combos across workers.
type comboTable struct {
	mu    sync.Mutex
	ids   map[string]int32
	items store[*combo]
}

// msgTable interns license failure messages across workers.
type msgTable struct {
	mu    sync.Mutex
	ids   map[msgKey]int32
	items store[string]
}

// combo returns combo id.
func (p *planner) combo(id int32) *combo { return p.combos.items.at(id) }

// msg returns message id.
func (p *planner) msg(id int32) string { return p.msgs.items.at(id) }
