package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestValidBcrypt: the hashes of the replaced systems ($2a$, $2b$, PHP's
// $2y$) are whole bcrypt hashes that logins verify; truncated ones,
// other schemes and plaintext are not.
func TestValidBcrypt(t *testing.T) {
	t.Parallel()
	h, err := bcrypt.GenerateFromPassword([]byte("clave"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := string(h)
	for _, tt := range []struct {
		s            string
		looks, valid bool
	}{
		{a, true, true},
		{"$2b$" + a[4:], true, true},
		{"$2y$" + a[4:], true, true},
		{a[:59], true, false},
		{"$2x$" + a[4:], false, false},
		{"$2a$99" + a[6:], true, false},
		{"$argon2id$v=19$m=65536,t=3,p=4$" + strings.Repeat("a", 29), false, false},
		{"clave-en-texto", false, false},
	} {
		if LooksBcrypt(tt.s) != tt.looks || ValidBcrypt(tt.s) != tt.valid {
			t.Errorf("%.12s…: looks %v valid %v, want %v %v", tt.s, LooksBcrypt(tt.s), ValidBcrypt(tt.s), tt.looks, tt.valid)
		}
		if tt.valid && !verifyPassword(tt.s, "clave") {
			t.Errorf("%.12s…: a login would not verify it", tt.s)
		}
	}
}
