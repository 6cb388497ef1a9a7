//go:build tools

// Package tools pins etcd's server command (the main package go.etcd.io/etcd/server/v3) so that
// `go mod tidy` keeps its modules in go.mod and go.sum. build.sh builds it by package path.
package tools

import _ "go.etcd.io/etcd/server/v3"
