package e2e

import "syscall"

// childProcAttr makes the kernel send SIGTERM to a child when the test
// process dies, so an interrupted `go test` leaves no control plane behind
// (localcluster stops kube-apiserver and etcd on SIGTERM).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
