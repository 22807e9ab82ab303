package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ce-platform/ce/pkg/statedir"
)

// salvage runs, under the store's lock, when secrets.db could not be
// loaded and was moved to moved: it copies every secret that can still be
// read from the damaged file into a new file at path, which buntdb then
// loads, so that a damaged record costs that record and not the vault.
func (v *Vault) salvage(path, moved string, loadErr error) {
	recovered := 0
	if data, err := os.ReadFile(moved); err == nil {
		recs := recoverRecords(data)
		if len(recs) > 0 {
			if err := statedir.WriteFile(path, appendFile(nil, recs), 0o600); err == nil {
				recovered = len(recs)
			}
		}
	}
	if v.OnCorrupt != nil {
		v.OnCorrupt(path, moved, recovered, loadErr)
	}
}

// recoverRecords replays the commands of a buntdb file that still parse
// (set, del, flushdb), skipping damaged stretches, and returns the secrets
// whose records are intact.
func recoverRecords(data []byte) map[string]string {
	live := map[string]string{}
	for i := 0; i < len(data); {
		args, next, ok := parseCommand(data, i)
		if !ok {
			j := bytes.IndexByte(data[i+1:], '*')
			if j < 0 {
				break
			}
			i += 1 + j
			continue
		}
		i = next
		switch cmd := strings.ToLower(string(args[0])); {
		case cmd == "set" && (len(args) == 3 || len(args) == 5):
			live[string(args[1])] = string(args[2])
		case cmd == "del" && len(args) == 2:
			delete(live, string(args[1]))
		case cmd == "flushdb" && len(args) == 1:
			clear(live)
		}
	}
	for k, val := range live {
		var r record
		key := strings.TrimPrefix(k, keyPrefix)
		if !strings.HasPrefix(k, keyPrefix) || ValidKey(key) != nil || json.Unmarshal([]byte(val), &r) != nil || len(r.Ciphertext) == 0 {
			delete(live, k)
		}
	}
	return live
}

// parseCommand parses one "*N\r\n" followed by N "$len\r\nbytes\r\n" at i.
func parseCommand(b []byte, i int) (args [][]byte, next int, ok bool) {
	n, i, ok := parseHeader(b, i, '*')
	if !ok || n < 1 || n > 8 {
		return nil, 0, false
	}
	for range n {
		var l int
		l, i, ok = parseHeader(b, i, '$')
		if !ok || l < 0 || i+l+2 > len(b) || b[i+l] != '\r' || b[i+l+1] != '\n' {
			return nil, 0, false
		}
		args = append(args, b[i:i+l])
		i += l + 2
	}
	return args, i, true
}

func parseHeader(b []byte, i int, kind byte) (int, int, bool) {
	if i >= len(b) || b[i] != kind {
		return 0, 0, false
	}
	end := bytes.Index(b[i:min(len(b), i+24)], []byte("\r\n"))
	if end < 0 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(b[i+1 : i+end]))
	if err != nil {
		return 0, 0, false
	}
	return n, i + end + 2, true
}

// appendFile writes records as buntdb set commands, in key order.
func appendFile(b []byte, recs map[string]string) []byte {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := recs[k]
		b = fmt.Appendf(b, "*3\r\n$3\r\nset\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(val), val)
	}
	return b
}
