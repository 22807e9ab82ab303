package cecmd

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// VersionCmd prints the version.
type VersionCmd struct {
	JSON bool `name:"json" help:"Print a JSON object."`
}

// Run prints the version.
func (c *VersionCmd) Run(env *clikit.Env) error {
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]string{
			"version": clikit.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
		})
	}
	fmt.Fprintf(env.Stdout, "ce %s (%s %s/%s)\n", clikit.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
