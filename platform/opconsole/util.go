package opconsole

import (
	"crypto/subtle"
	"net/url"
)

func subtleEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func urlEscape(s string) string { return url.QueryEscape(s) }
