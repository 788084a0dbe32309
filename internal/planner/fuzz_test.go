package planner

import (
	"testing"
)

// FuzzPlan builds a tenant from the fuzz input and checks every invariant:
// no panic, an unmodified input, exact Changed flags, JSON-stable
// statuses, the result of the reference model of the rules, maximality,
// idempotence, independence from input order, and that several workers
// plan exactly what one does.
func FuzzPlan(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{0},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		{255, 255, 255, 255, 255, 255, 255, 255},
		[]byte("license-operator"),
		[]byte("\x04\x03\x02\x01\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0"),
	} {
		f.Add(seed)
	}
	// A few random tenants' worth of bytes.
	for s := range uint64(8) {
		c := seeded(s).(randChooser)
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(c.r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := genTenant(&byteChooser{b: data})
		res := planUnmodified(t, in)
		checkInvariants(t, in, res)
		checkNoDuplicateEntries(t, res)
		checkIdempotent(t, in, res)
		checkPermutations(t, in, res, uint64(len(data)))
		var par *Result
		withWorkers(3, func() { par = Plan(in) })
		checkSameResult(t, res, par)
	})
}
