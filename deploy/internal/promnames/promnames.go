// Package promnames holds what the tests of deploy/ share: the list of
// metric names the platform exposes (deploy/prometheus/metrics.txt), a
// lexer that finds the metric names a PromQL expression selects, so that
// a rule or a dashboard panel that names a metric nobody exposes fails a
// test instead of showing nothing in production, and a promtool runner.
package promnames

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// Types a metric can have in metrics.txt. Scrape names (up) are made by
// Prometheus, not exposed by the platform.
var types = []string{"counter", "gauge", "histogram", "summary", "scrape"}

// Known is the parsed metrics.txt: metric name → type.
type Known map[string]string

// Load reads a metrics.txt: one "name type" a line; # starts a comment.
func Load(path string) (Known, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k := Known{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 || !slices.Contains(types, fields[1]) || !metricName.MatchString(fields[0]) {
			return nil, fmt.Errorf("%s:%d: want \"metric_name type\" (type one of %v), got %q", path, n, types, sc.Text())
		}
		if _, dup := k[fields[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", path, n, fields[0])
		}
		k[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(k) == 0 {
		return nil, fmt.Errorf("%s: no metric names", path)
	}
	return k, nil
}

var metricName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Has reports whether name is a known metric or a series of one: the
// _bucket, _sum and _count of a histogram, the _sum and _count of a
// summary.
func (k Known) Has(name string) bool {
	if _, ok := k[name]; ok {
		return true
	}
	for suffix, kinds := range map[string][]string{
		"_bucket": {"histogram"},
		"_sum":    {"histogram", "summary"},
		"_count":  {"histogram", "summary"},
	} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(kinds, k[base]) {
			return true
		}
	}
	return false
}

var (
	// Label lists of grouping and vector matching: their names are labels.
	labelLists = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	keywords   = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN", "start", "end"}
)

// Names returns the metric names expr selects, in order of appearance,
// each once. It is a lexer, not a parser: string literals, label matchers
// ({...}), ranges and subqueries ([...]), grouping label lists, function
// and aggregation names (an identifier before "("), keywords, numbers and
// $variables (Grafana's, Prometheus templates') are skipped; what is left
// are metric names and recording rule names.
func Names(expr string) []string {
	s := stripStrings(expr)
	s = stripNested(s, '{', '}')
	s = stripNested(s, '[', ']')
	s = labelLists.ReplaceAllString(s, " ")
	var names []string
	for i := 0; i < len(s); {
		c := s[i]
		if !identStart(c) {
			i++
			continue
		}
		j := i
		for j < len(s) && identPart(s[j]) {
			j++
		}
		word := s[i:j]
		prev := byte(' ')
		if i > 0 {
			prev = s[i-1]
		}
		next := strings.TrimLeft(s[j:], " \t\n")
		isCall := strings.HasPrefix(next, "(")
		// A word glued to a digit or a dot is part of a number (1e9, 0x1f,
		// 5m); after $ it is a variable.
		if !isCall && !(prev >= '0' && prev <= '9') && prev != '.' && prev != '$' &&
			!slices.Contains(keywords, word) && !slices.Contains(names, word) {
			names = append(names, word)
		}
		i = j
	}
	return names
}

func identStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func identPart(c byte) bool { return identStart(c) || (c >= '0' && c <= '9') }

// stripStrings blanks "…", '…' and `…` literals (with backslash escapes in
// the first two).
func stripStrings(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		q := b[i]
		if q != '"' && q != '\'' && q != '`' {
			continue
		}
		j := i + 1
		for ; j < len(b) && b[j] != q; j++ {
			if b[j] == '\\' && q != '`' {
				b[j] = ' '
				j++
			}
			if j < len(b) {
				b[j] = ' '
			}
		}
		i = j
	}
	return string(b)
}

// stripNested blanks what is between open and close, nesting included.
func stripNested(s string, open, close byte) string {
	b := []byte(s)
	depth := 0
	for i, c := range b {
		switch {
		case c == open:
			depth++
		case c == close && depth > 0:
			depth--
		case depth > 0:
			b[i] = ' '
		}
	}
	return string(b)
}

// ErrNoPromtool: the promtool binary is not there.
var ErrNoPromtool = errors.New("no promtool")

// Promtool runs the promtool binary bin with args in dir and returns its
// combined output. bin is PLATFORM_PROMTOOL_BIN, built by
// scripts/dev-services up; a missing one is an error that says so.
func Promtool(ctx context.Context, bin, dir string, args ...string) (string, error) {
	if bin == "" {
		return "", fmt.Errorf(`%w: PLATFORM_PROMTOOL_BIN is not set: run scripts/dev-services up, then eval "$(scripts/dev-services env)"`, ErrNoPromtool)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%w: %v: run scripts/dev-services up (it builds promtool)", ErrNoPromtool, err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("promtool %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}
