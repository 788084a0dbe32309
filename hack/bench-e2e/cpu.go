package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's utime and stime
// (100 on every Linux platform Go supports).
const clockTicks = 100

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
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, ppid, cpu, ok := procStat(pid)
		if !ok || ppid != self {
			continue
		}
		switch comm {
		case "kube-apiserver":
			t["apiserver"] += cpu
		case "etcd":
			t["etcd"] += cpu
		}
	}
	return t
}

func procCPU(pid int) time.Duration {
	_, _, cpu, _ := procStat(pid)
	return cpu
}

// procStat parses /proc/<pid>/stat: comm, parent pid, utime+stime.
func procStat(pid int) (comm string, ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, 0, false
	}
	comm = s[open+1 : closing]
	fields := strings.Fields(s[closing+1:])
	// fields[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return comm, ppid, time.Duration(ut+st) * time.Second / clockTicks, true
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
