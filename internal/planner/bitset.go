package planner

import "math/bits"

// bitset is a set of small non-negative integers (service plan IDs). All
// bitsets of one plan have the same length, so binary operations need no
// bounds juggling.
type bitset []uint64

// newBitset returns an empty bitset able to hold n members.
func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) unset(i int32)    { b[i>>6] &^= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// reset empties b.
func (b bitset) reset() { clear(b) }

// or adds every member of o to b.
func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

// intersects reports whether b and o share a member.
func (b bitset) intersects(o bitset) bool {
	for i := range b {
		if b[i]&o[i] != 0 {
			return true
		}
	}
	return false
}

// subsetOf reports whether every member of b is in o.
func (b bitset) subsetOf(o bitset) bool {
	for i := range b {
		if b[i]&^o[i] != 0 {
			return false
		}
	}
	return true
}

// empty reports whether b has no member.
func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// count returns the number of members.
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// next returns the smallest member >= from, or -1.
func (b bitset) next(from int32) int32 {
	if from < 0 {
		from = 0
	}
	wi := int(from >> 6)
	if wi >= len(b) {
		return -1
	}
	w := b[wi] >> (uint(from) & 63)
	if w != 0 {
		return from + int32(bits.TrailingZeros64(w))
	}
	for wi++; wi < len(b); wi++ {
		if b[wi] != 0 {
			return int32(wi<<6 + bits.TrailingZeros64(b[wi]))
		}
	}
	return -1
}

// firstCommon returns the smallest member of both b and o, or -1.
func (b bitset) firstCommon(o bitset) int32 {
	for i := range b {
		if w := b[i] & o[i]; w != 0 {
			return int32(i<<6 + bits.TrailingZeros64(w))
		}
	}
	return -1
}

// firstNotIn returns the smallest member of b that is not in o, or -1.
func (b bitset) firstNotIn(o bitset) int32 {
	for i := range b {
		if w := b[i] &^ o[i]; w != 0 {
			return int32(i<<6 + bits.TrailingZeros64(w))
		}
	}
	return -1
}

// appendKey appends the words of b to key, little endian, for interning.
func (b bitset) appendKey(key []byte) []byte {
	for _, w := range b {
		key = append(key, byte(w), byte(w>>8), byte(w>>16), byte(w>>24),
			byte(w>>32), byte(w>>40), byte(w>>48), byte(w>>56))
	}
	return key
}

// subsetOfUnion reports whether every member of b is in o or in q.
func (b bitset) subsetOfUnion(o, q bitset) bool {
	for i := range b {
		if b[i]&^(o[i]|q[i]) != 0 {
			return false
		}
	}
	return true
}

// firstNotInUnion returns the smallest member of b in neither o nor q, or -1.
func (b bitset) firstNotInUnion(o, q bitset) int32 {
	for i := range b {
		if w := b[i] &^ (o[i] | q[i]); w != 0 {
			return int32(i<<6 + bits.TrailingZeros64(w))
		}
	}
	return -1
}
