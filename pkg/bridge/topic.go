package bridge

import (
	"fmt"
	"strings"
)

// MaxTopic is the longest topic or pattern, in bytes.
const MaxTopic = 256

// Topics the client puts on a subscription's channel itself; no publisher
// can send them.
const (
	// TopicResubscribed marks that a subscription was established again
	// after its connection was lost (the broker restarted, or dropped a
	// subscriber that did not keep up): events published in the gap were
	// lost, so re-read whatever the events are about.
	TopicResubscribed = "bridge.resubscribed"
)

// CheckTopic says what is wrong with a topic to publish, or nil.
func CheckTopic(topic string) error {
	if err := checkName("topic", topic, false); err != nil {
		return err
	}
	if strings.HasPrefix(topic, "bridge.") {
		return fmt.Errorf("topic %q: topics under bridge. are reserved", topic)
	}
	return nil
}

// CheckPattern says what is wrong with a subscription pattern, or nil.
func CheckPattern(pattern string) error { return checkName("pattern", pattern, true) }

// checkName checks a dotted name: non-empty segments of printable
// characters without spaces ('*' only in patterns).
func checkName(what, s string, star bool) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s", what)
	case len(s) > MaxTopic:
		return fmt.Errorf("%s %.40q... is %d bytes; at most %d are allowed", what, s, len(s), MaxTopic)
	}
	prev := byte('.')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("%s %q has a space or control character", what, s)
		case c == '*' && !star:
			return fmt.Errorf("%s %q: '*' is only for subscription patterns", what, s)
		case c == '.' && prev == '.':
			return fmt.Errorf("%s %q has an empty segment", what, s)
		}
		prev = c
	}
	if prev == '.' {
		return fmt.Errorf("%s %q has an empty segment", what, s)
	}
	return nil
}

// Match reports whether topic matches pattern: '*' matches any run of
// characters within one dot-separated segment, and a last segment that is
// just '*' matches the rest of the topic, one or more segments.
func Match(pattern, topic string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pattern, ".")
		if !pmore && pseg == "*" {
			return topic != ""
		}
		tseg, trest, tmore := strings.Cut(topic, ".")
		if !matchSegment(pseg, tseg) {
			return false
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}

// matchSegment is glob matching with '*' as the only special character.
func matchSegment(p, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, 0
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			c := p[px]
			if c == '*' {
				nextPx, nextSx = px, sx+1
				px++
				continue
			}
			if sx < len(s) && s[sx] == c {
				px++
				sx++
				continue
			}
		}
		if 0 < nextSx && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
