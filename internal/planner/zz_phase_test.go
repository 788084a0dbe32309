package planner

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

func phases(t *testing.T, name string, in Input) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	last, lastT := ms.TotalAlloc, time.Now()
	step := func(s string) {
		runtime.ReadMemStats(&ms)
		t.Logf("%s %-16s %6.1fms %6.1fMB", name, s, float64(time.Since(lastT).Microseconds())/1000, float64(ms.TotalAlloc-last)/1e6)
		last, lastT = ms.TotalAlloc, time.Now()
	}
	p := newPlanner(in)
	p.indexSKUs()
	p.indexGroups()
	step("index")
	idx := p.indexUsers()
	step("users")
	p.resolveMembers(idx)
	step("members")
	p.eachUserRange(func(w *worker, lo, hi int) {
		for ui := lo; ui < hi; ui++ {
			w.userRequests(int32(ui))
		}
	})
	step("requests")
	p.allocateSeats()
	step("seats")
	res := &Result{Users: make([]UserResult, len(in.Users))}
	p.prepareResults()
	p.eachUserRange(func(w *worker, lo, hi int) {
		for ui := lo; ui < hi; ui++ {
			res.Users[ui] = w.userResult(int32(ui))
			w.tallyGroups(int32(ui))
		}
	})
	p.mergeTallies()
	step("userResult")
	for i := range in.Groups {
		p.groupResult(int32(i))
	}
	step("groupResult")
	for i := range in.SKUs {
		p.skuResult(int32(i))
	}
	step("skuResult")
}

func TestZZPhases(t *testing.T) {
	if os.Getenv("PHASES") == "" {
		t.Skip()
	}
	cold := genBenchTenant(100_000, 1)
	steady := converged(cold)
	for range 2 {
		phases(t, "cold", cold)
		phases(t, "steady", steady)
	}
}

func TestZZProfile(t *testing.T) {
	if os.Getenv("PHASES") == "" {
		t.Skip()
	}
	cold := genBenchTenant(100_000, 1)
	steady := converged(cold)
	f, _ := os.Create("/tmp/cpu_cold.out")
	pprof.StartCPUProfile(f)
	for range 8 {
		Plan(cold)
	}
	pprof.StopCPUProfile()
	f.Close()
	f, _ = os.Create("/tmp/cpu_steady.out")
	pprof.StartCPUProfile(f)
	for range 8 {
		Plan(steady)
	}
	pprof.StopCPUProfile()
	f.Close()
}

func TestZZMem(t *testing.T) {
	if os.Getenv("PHASES") == "" {
		t.Skip()
	}
	runtime.MemProfileRate = 4096
	cold := genBenchTenant(100_000, 1)
	steady := converged(cold)
	snap := func(name string) {
		runtime.GC()
		f, _ := os.Create(name)
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	snap("/tmp/m0.out")
	for range 2 {
		Plan(steady)
	}
	snap("/tmp/m1.out")
	for range 2 {
		Plan(cold)
	}
	snap("/tmp/m2.out")
}
