package events

import (
	"fmt"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Limits of a subscription.
const (
	maxPatterns   = 20
	maxPatternLen = 100
)

// patterns is a checked set of topic patterns; empty matches every topic.
type patterns []string

// checkPattern reports why p is not a topic pattern ("" when it is).
func checkPattern(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case len(p) > maxPatternLen:
		return fmt.Sprintf("must be at most %d characters", maxPatternLen)
	case p == "*":
		return ""
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '*') {
			return "may hold only a-z, 0-9, '_', '.' and '*'"
		}
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && (i != len(p)-1 || !strings.HasSuffix(p, ".*") || len(p) < 3) {
		return `may use '*' only alone or as a last segment, as in "inventory.*"`
	}
	if strings.HasPrefix(p, ".") || strings.Contains(p, "..") || strings.HasSuffix(p, ".") {
		return "must not have empty segments"
	}
	return ""
}

// parsePatterns checks the patterns of a subscription (field names the
// request field), dropping duplicates. required demands at least one.
func parsePatterns(v *errs.Validator, field string, in []string, required bool) patterns {
	if required && len(in) == 0 {
		v.Add(field, "required", "needs at least one topic pattern")
		return nil
	}
	if len(in) > maxPatterns {
		v.Add(field, "too_many", fmt.Sprintf("may hold at most %d patterns", maxPatterns))
		return nil
	}
	out := make(patterns, 0, len(in))
	seen := map[string]bool{}
	for i, p := range in {
		if msg := checkPattern(p); msg != "" {
			name := field
			if required {
				name = fmt.Sprintf("%s[%d]", field, i)
			}
			v.Add(name, "invalid_pattern", msg)
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// all reports whether the patterns match every topic.
func (ps patterns) all() bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p == "*" {
			return true
		}
	}
	return false
}

// match reports whether topic matches one of the patterns.
func (ps patterns) match(topic string) bool {
	if ps.all() {
		return true
	}
	for _, p := range ps {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(topic, prefix) {
				return true
			}
		} else if topic == p {
			return true
		}
	}
	return false
}

// where is an SQL condition on events.topic equivalent to match (case
// sensitive on both engines: no LIKE), with its arguments; "" for all.
func (ps patterns) where() (string, []any) {
	if ps.all() {
		return "", nil
	}
	conds := make([]string, 0, len(ps))
	args := make([]any, 0, len(ps))
	for _, p := range ps {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			// The length is a checked pattern's, inlined so that PostgreSQL
			// needs no parameter type for it.
			conds = append(conds, fmt.Sprintf("SUBSTR(topic, 1, %d) = ?", len(prefix)))
			args = append(args, prefix)
		} else {
			conds = append(conds, "topic = ?")
			args = append(args, p)
		}
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}
