// Command vault is the testbed's HashiCorp Vault CE server, built from Vault's Go module.
// It is Vault's own main package, nothing more, so that tests run against the real server
// without a prebuilt download.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
