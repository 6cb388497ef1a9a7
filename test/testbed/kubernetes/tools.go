//go:build tools

// Package tools pins the two Kubernetes commands the testbed builds, so that `go mod tidy`
// keeps every module they need in go.mod and go.sum. build.sh builds them by package path.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
