package harness

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a child process (the manager binary, a control-plane binary)
// whose output is kept in memory (LogTail) and copied to Output if set.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu  sync.Mutex
	buf bytes.Buffer
}

// ProcessOptions are how Start runs a binary.
type ProcessOptions struct {
	Dir         string               // working directory ("" for the current one)
	Output      io.Writer            // also receives stdout and stderr (nil: kept in memory only)
	SysProcAttr *syscall.SysProcAttr // e.g. Pdeathsig, so children do not outlive the test
}

// Start runs path with args in the background.
func Start(name, path string, args []string, opts ProcessOptions) (*Process, error) {
	p := &Process{Name: name, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = opts.Dir
	var out io.Writer = p
	if opts.Output != nil {
		out = io.MultiWriter(p, opts.Output)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = opts.SysProcAttr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// keepOutput bounds the output kept in memory: a long benchmark run logs
// far more than a failure message needs.
const keepOutput = 1 << 20

func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if p.buf.Len() > keepOutput {
		keep := bytes.Clone(p.buf.Bytes()[p.buf.Len()-keepOutput/2:])
		p.buf.Reset()
		p.buf.Write(keep)
	}
	return len(b), nil
}

// Output is what the process wrote so far (the last MiB at most).
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// LogTail is the last n lines of the output, for failure messages.
func (p *Process) LogTail(n int) string {
	lines := strings.Split(p.Output(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Err is the exit error once the process has exited.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits for the exit; after grace it kills the
// process and reports that it did not stop. It returns the exit error.
func (p *Process) Stop(grace time.Duration) error {
	if !p.Alive() {
		return fmt.Errorf("%s had already exited: %v", p.Name, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.Name, grace)
	}
}

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitFor polls cond every 200ms until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not within %v", timeout)
}
