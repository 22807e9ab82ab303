package botapi

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

var tokenShape = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$`)

// ReadTokenFile reads a bot token from path, ignoring white space around
// it. Its errors never quote the file's content.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read bot token: %w", err)
	}
	return ParseToken(string(b), path)
}

// ParseToken checks that s, white space around it ignored, looks like a bot
// token ("<bot id>:<secret>"); from names where s came from in errors.
func ParseToken(s, from string) (string, error) {
	tok := strings.TrimSpace(s)
	if tok == "" {
		return "", fmt.Errorf("bot token in %s is empty", from)
	}
	if !tokenShape.MatchString(tok) {
		return "", fmt.Errorf("%s does not hold a bot token of the form <bot id>:<secret>", from)
	}
	return tok, nil
}
