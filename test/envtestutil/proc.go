package envtestutil

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

// Process is a process as /proc/<pid>/stat describes it.
type Process struct {
	PID, PPID int
	Comm      string        // the executable's name, at most 15 bytes
	Exited    bool          // a zombie: exited, not yet reaped
	CPU       time.Duration // user + system time so far
}

// ReadProcess reads /proc/<pid>/stat; ok is false when the process is gone.
func ReadProcess(pid int) (p Process, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Process{}, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Process{}, false
	}
	// After the comm: state (field 3), ppid (4), ..., utime (14), stime (15).
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 13 {
		return Process{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return Process{
		PID: pid, PPID: ppid, Comm: s[open+1 : closing], Exited: fields[0] == "Z",
		CPU: time.Duration(ut+st) * time.Second / clockTicks,
	}, true
}

// Children returns the processes whose parent is this process (the control
// plane envtest started, for one), with the given name if name is not "".
func Children(name string) []Process {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []Process
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if p, ok := ReadProcess(pid); ok && p.PPID == os.Getpid() && (name == "" || p.Comm == name) {
			out = append(out, p)
		}
	}
	return out
}
