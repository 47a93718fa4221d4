package i18n

import (
	"errors"
	"strings"
)

// Errors of [Locale.ParseMoney]; a form shows each as its own message.
var (
	// ErrAmountInvalid: not an amount (letters, a sign, misplaced
	// separators, empty).
	ErrAmountInvalid = errors.New("i18n: not an amount")
	// ErrAmountDecimals: more decimals than the currency has (any for
	// CLP, more than two for MXN and USD).
	ErrAmountDecimals = errors.New("i18n: too many decimals for the currency")
	// ErrAmountTooLarge: beyond what an amount column holds.
	ErrAmountTooLarge = errors.New("i18n: amount too large")
)

// MaxAmountCents is the largest amount ParseMoney accepts, in cents: the
// largest value of the integer columns amounts are stored in.
const MaxAmountCents = 1<<31 - 1

// Digits is the number of decimals of the tenant's currency: 0 for CLP,
// 2 for MXN and USD.
func (l Locale) Digits() int { return l.currencyFormat().digits }

func (l Locale) currencyFormat() currencyFormat {
	if cf, ok := currencyFormats[l.currency]; ok {
		return cf
	}
	return currencyFormats[DefaultCurrency(l.tagOrDefault())]
}

// Amount writes cents as a form's input shows an amount: Money without
// the symbol ("4.500" for CLP in es-CL, "1,299.90" for MXN in es-MX),
// which ParseMoney reads back.
func (l Locale) Amount(cents int64) string {
	m := l.Money(cents)
	i := strings.IndexFunc(m, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return m
	}
	if strings.HasPrefix(m, "-") {
		return "-" + m[i:]
	}
	return m[i:]
}

// ParseMoney reads an amount of the tenant's currency as people write it
// and returns it in cents. Spaces and a leading currency symbol ("$",
// "CLP$", "MX$", "US$") are allowed; thousands may be grouped by "." or
// "," in threes. A separator followed by one or two digits at the end is
// the decimal point, whichever of "." and "," it is (so "45,50" and
// "45.50" are both 45.50 MXN); followed by exactly three it groups
// thousands ("4.500" CLP, "1,234" MXN); with both, the last one is the
// decimal point. CLP takes no decimals, MXN and USD at most two. A
// negative amount is ErrAmountInvalid (amounts here are prices and
// totals).
func (l Locale) ParseMoney(s string) (int64, error) {
	s = strings.Join(strings.Fields(s), "")
	for _, sym := range []string{"CLP$", "MX$", "US$", "$"} {
		if rest, ok := strings.CutPrefix(s, sym); ok {
			s = rest
			break
		}
	}
	if s == "" {
		return 0, ErrAmountInvalid
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' && r != ',' {
			return 0, ErrAmountInvalid
		}
	}
	if s[0] < '0' || s[0] > '9' {
		return 0, ErrAmountInvalid
	}
	whole, frac, hasFrac := splitDecimal(s)
	// The whole part: digits, or digits grouped in threes by one separator.
	digits, ok := ungroup(whole)
	if !ok {
		return 0, ErrAmountInvalid
	}
	if hasFrac && (frac == "" || strings.ContainsAny(frac, ".,")) {
		return 0, ErrAmountInvalid
	}
	d := l.Digits()
	frac = strings.TrimRight(frac, "0")
	if len(frac) > d {
		return 0, ErrAmountDecimals
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 12 {
		return 0, ErrAmountTooLarge
	}
	var units int64
	for _, r := range digits {
		units = units*10 + int64(r-'0')
	}
	var cents int64
	for i := range 2 {
		cents *= 10
		if i < len(frac) {
			cents += int64(frac[i] - '0')
		}
	}
	total := units*100 + cents
	if total > MaxAmountCents {
		return 0, ErrAmountTooLarge
	}
	return total, nil
}

// splitDecimal splits s at its decimal separator, if it has one: the last
// separator when both kinds appear, else a last separator followed by one
// or two digits (three digits group thousands; a single separator
// followed by more than three is a decimal part too long, reported as
// such).
func splitDecimal(s string) (whole, frac string, ok bool) {
	i := strings.LastIndexAny(s, ".,")
	if i < 0 {
		return s, "", false
	}
	last := s[i]
	other := byte(',')
	if last == ',' {
		other = '.'
	}
	after := s[i+1:]
	switch {
	case strings.IndexByte(s[:i], other) >= 0:
		return s[:i], after, true
	case strings.Count(s, string(last)) > 1:
		return s, "", false // one kind repeated: grouping only
	case len(after) == 3:
		return s, "", false
	}
	return s[:i], after, true
}

// ungroup checks the whole part (digits, possibly grouped in threes by one
// kind of separator) and returns its digits.
func ungroup(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	i := strings.IndexAny(s, ".,")
	if i < 0 {
		return s, true
	}
	sep := s[i]
	parts := strings.Split(s, string(sep))
	if len(parts[0]) < 1 || len(parts[0]) > 3 {
		return "", false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 || strings.ContainsAny(p, ".,") {
			return "", false
		}
	}
	return strings.Join(parts, ""), true
}
