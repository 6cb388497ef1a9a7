//go:build tools

// Package tools pins the Kubernetes commands the testbed builds, so that `go mod tidy` keeps every
// module they need in go.mod and go.sum. build.sh builds them by package path: the control plane
// (kube-apiserver, kube-controller-manager) and the node (kubelet, kube-scheduler).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
