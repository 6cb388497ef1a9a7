// pause: the process of the testbed node's pod sandboxes (containerd's CRI `sandbox_image`), built
// by test/testbed/image.sh into a one-file image, since the usual registry.k8s.io/pause cannot be
// pulled here. It does what Kubernetes' own pause does: holds the pod's namespaces open, reaps the
// zombies it inherits as PID 1, and exits 0 on SIGINT or SIGTERM (PID 1 has no default handlers).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	child := make(chan os.Signal, 16)
	signal.Notify(child, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-child:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
