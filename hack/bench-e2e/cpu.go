package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/licenseops/license-operator/test/envtestutil"
)

// cpuTimes is the CPU time (user + system) consumed so far by the processes
// that share the machine during a measurement: the API server, etcd, the
// manager and this harness.
type cpuTimes map[string]time.Duration

// sampleCPU reads the CPU time of this process, of its kube-apiserver and etcd
// children, and of the manager (pid, 0 for none).
func sampleCPU(managerPID int) cpuTimes {
	t := cpuTimes{"harness": procCPU(os.Getpid())}
	if managerPID > 0 {
		t["manager"] = procCPU(managerPID)
	}
	for _, p := range envtestutil.Children("") {
		switch p.Comm {
		case "kube-apiserver":
			t["apiserver"] += p.CPU
		case "etcd":
			t["etcd"] += p.CPU
		}
	}
	return t
}

func procCPU(pid int) time.Duration {
	p, _ := envtestutil.ReadProcess(pid)
	return p.CPU
}

// sub returns the CPU consumed between two samples.
func (t cpuTimes) sub(before cpuTimes) cpuTimes {
	d := cpuTimes{}
	for k, v := range t {
		d[k] = v - before[k]
	}
	return d
}

func (t cpuTimes) String() string {
	var parts []string
	var total time.Duration
	for _, k := range []string{"apiserver", "etcd", "manager", "harness"} {
		if v, ok := t[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1fs", k, v.Seconds()))
			total += v
		}
	}
	return fmt.Sprintf("CPU %.1fs (%s)", total.Seconds(), strings.Join(parts, ", "))
}
