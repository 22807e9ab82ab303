package bridgecmd

import (
	"github.com/ce-platform/ce/pkg/binpath"
	"github.com/ce-platform/ce/pkg/bridge"
)

// owners reserves ce's namespaces to the ce programs beside the broker.
func owners() ([]bridge.Owner, error) {
	return bridge.Owners(func(name string) (string, error) {
		p, err := binpath.Find(name)
		if err != nil {
			return "", err
		}
		return bridge.Resolve(p)
	})
}
