package harness

import (
	"fmt"
	"io"
	"syscall"
	"time"
)

// ManagerOptions are how StartManager runs the manager binary.
type ManagerOptions struct {
	Kubeconfig  string
	Namespaces  string   // comma-separated; "" for all
	Pprof       bool     // serve pprof on a free port (PprofAddr)
	Args        []string // more flags
	Output      io.Writer
	SysProcAttr *syscall.SysProcAttr
	// MetricsTimeout bounds the wait for the metrics endpoint (default 2m:
	// the machine may be loaded).
	MetricsTimeout time.Duration
	// NoWait returns as soon as the process runs (the chaos suite kills
	// managers at random points, startup included).
	NoWait bool
}

// Manager is a running manager binary with its metrics endpoint up.
type Manager struct {
	*Process
	MetricsAddr string
	PprofAddr   string
}

// StartManager runs the manager binary at path with metrics over plain
// HTTP on a free loopback port, no health probes and no client-side rate
// limit, and waits until its metrics endpoint answers.
func StartManager(name, path string, o ManagerOptions) (*Manager, error) {
	m := &Manager{}
	var err error
	if m.MetricsAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig=" + o.Kubeconfig,
		"--namespaces=" + o.Namespaces,
		"--metrics-bind-address=" + m.MetricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address=0",
		"--kube-api-qps=-1",
	}
	if o.Pprof {
		if m.PprofAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
		args = append(args, "--pprof-bind-address="+m.PprofAddr)
	}
	// Later flags win: o.Args may override any of the above.
	args = append(args, o.Args...)
	if m.Process, err = Start(name, path, args, ProcessOptions{Output: o.Output, SysProcAttr: o.SysProcAttr}); err != nil {
		return nil, err
	}
	if o.NoWait {
		return m, nil
	}
	timeout := o.MetricsTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if err := WaitFor(timeout, func() bool {
		_, err := m.Metrics()
		return err == nil || !m.Alive()
	}); err != nil || !m.Alive() {
		if m.Alive() {
			_ = m.Stop(20 * time.Second)
		}
		return nil, fmt.Errorf("manager %s: metrics endpoint never came up (%v); output:\n%s", name, err, m.LogTail(30))
	}
	return m, nil
}

// Metrics scrapes the manager's metrics endpoint.
func (m *Manager) Metrics() (Metrics, error) {
	return Scrape("http://" + m.MetricsAddr + "/metrics")
}
