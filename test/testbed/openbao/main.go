// Command bao is the testbed's OpenBao server, built from OpenBao's Go module.
// It exists so that tests run against the real server without a prebuilt download.
package main

import (
	"os"

	"github.com/openbao/openbao/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
