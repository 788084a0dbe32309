package planner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// scratch holds a worker's buffers, reused from one user to the next.
type scratch struct {
	key                         []byte
	text                        []byte
	mask, acc, union, seen, dup bitset
	pending                     []pending
	slot, slotUser              []int32 // per SKU, see worker.addSource
	labels, rank, order         []int32
	keys                        []uint64
}

// init sizes the plan bitsets for n service plans.
func (s *scratch) init(n int) {
	s.mask = newBitset(n)
	s.acc = newBitset(n)
	s.union = newBitset(n)
	s.seen = newBitset(n)
	s.dup = newBitset(n)
}

// slabChunk is the number of elements a slab allocates at once.
const slabChunk = 1024

// slab hands out exact-length slices carved from larger allocations, so
// that thousands of small statuses cost a few allocations.
type slab[T any] struct{ free []T }

// take returns a zeroed slice of length and capacity n, nil when n is 0.
func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if len(s.free) < n {
		s.free = make([]T, max(n, slabChunk))
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// slabs are the slabs of the statuses Plan returns.
type slabs struct {
	status slab[licv1.UserLicenseStatus]
	lic    slab[licv1.LicenseStatus]
	str    slab[string]
	cond   slab[metav1.Condition]
}
