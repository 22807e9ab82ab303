package bridge

import (
	"fmt"
	"strings"
)

// providerCommands maps method prefixes to the command that provides them.
var providerCommands = []struct{ prefix, command string }{
	{"vault.", "ce-vault serve"},
	{"cron.", "ce-cron serve"},
	{"heartbeat.", "ce-heartbeat serve"},
	{"queue.", "ce-queue serve"},
	{"telegram.", "ce-telegram serve"},
	{"memory.", "ce-memory"},
}

// ProviderCommand names the command that provides method, for messages:
// "ce-vault serve" for vault.get, or "the command that provides x.y" for a
// method of no known command.
func ProviderCommand(method string) string {
	for _, p := range providerCommands {
		if strings.HasPrefix(method, p.prefix) {
			return p.command
		}
	}
	return "the command that provides " + method
}

// noProvider is the error of a call to a method nobody provides.
func noProvider(method string) *RPCError {
	cmd := ProviderCommand(method)
	e := rpcErrorf(CodeMethodNotFound, "no provider for %s: start %s (or ce up)", method, cmd)
	var data []byte
	data = append(data, `{"method":`...)
	data = appendString(data, method)
	data = append(data, `,"command":`...)
	data = appendString(data, cmd)
	e.Data = append(data, '}')
	return e
}

// CheckMethod says what is wrong with a method name to provide, or nil.
func CheckMethod(method string) error {
	if err := checkName("method", method, false); err != nil {
		return err
	}
	if strings.HasPrefix(method, "bridge.") {
		return fmt.Errorf("method %q: methods under bridge. are the broker's own", method)
	}
	return nil
}
