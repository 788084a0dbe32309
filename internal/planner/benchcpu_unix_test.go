//go:build unix

package planner

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system, all threads) the process
// used so far, for BenchmarkPlan's cpu-ms/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
