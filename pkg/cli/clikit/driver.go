package clikit

import "github.com/ce-platform/ce/pkg/dispatch"

// Driver returns a run driver for the environment's state directory and
// configuration, reporting store files it had to move aside as warnings.
func (e *Env) Driver() (*dispatch.Driver, error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, err
	}
	st, err := e.State()
	if err != nil {
		return nil, err
	}
	d, err := dispatch.New(st, cfg, e.ConfigPath(), e.Logger())
	if err != nil {
		return nil, WithHint(ExitFailure, err, "")
	}
	warn := func(path, moved string, err error) {
		e.Warnf("%s could not be loaded (%v); it was moved to %s and a new one started", path, err, moved)
	}
	d.Sessions.Store().OnCorrupt = warn
	d.Queue.Store().OnCorrupt = warn
	return d, nil
}
