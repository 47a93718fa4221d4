package auth

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenancy/platform/tenant"
)

func TestHashAndCheck(t *testing.T) {
	pw, err := OneTimePassword()
	if err != nil || len(pw) != 22 {
		t.Fatalf("OneTimePassword = %q, %v", pw, err)
	}
	other, _ := OneTimePassword()
	if pw == other {
		t.Fatal("two one-time passwords are equal")
	}
	h, err := HashPassword(pw, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, pw) || CheckPassword(h, other) || CheckPassword(h, "") {
		t.Error("CheckPassword disagrees with HashPassword")
	}
}

// BenchmarkHashPassword shows what each bcrypt cost takes here: the cost
// of a tenant's first admin and of every login.
func BenchmarkHashPassword(b *testing.B) {
	for _, cost := range []int{10, 11, 12} {
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			for b.Loop() {
				HashPassword("correct horse battery staple", cost)
			}
		})
	}
}

func TestPasswordPolicy(t *testing.T) {
	strong72 := "Quartz lanterns hum over 7 sleepy fjords while a ferry " // padded below to 72 bytes
	strong72 += strings.Repeat("z", MaxPasswordBytes-len(strong72))
	for _, c := range []struct {
		pw     string
		inputs []string
		ok     bool
	}{
		{"violet kettle drums Orbit 93", nil, true},
		{strong72, nil, true},
		{strong72 + "z", nil, false},                                            // 73 bytes: refused, not truncated
		{strings.Repeat("é", 36) + "x", nil, false},                             // 37 characters but 73 bytes
		{"Tr0ub4dor&3", nil, false},                                             // 11 characters
		{"password1234", nil, false},                                            // common
		{"qwertyuiop123", nil, false},                                           // keyboard walk
		{"aaaaaaaaaaaaaaaa", nil, false},                                        // repetition
		{"henrietta.lopez91", []string{"henrietta.lopez91@example.com"}, false}, // the user's own address
		{"henrietta.lopez91", nil, true},
		{"HenriettaLopez", []string{"Henrietta Lopez"}, false}, // the user's name
	} {
		err := CheckPasswordPolicy("new_password", c.pw, c.inputs...)
		if (err == nil) != c.ok {
			t.Errorf("%q (inputs %v): %v, want ok=%v", c.pw, c.inputs, err, c.ok)
		}
		if err != nil && (tenant.ErrorCode(err) != tenant.EValidation || tenant.ErrorFields(err)["new_password"] == "") {
			t.Errorf("%q: %v is not a validation error on new_password", c.pw, err)
		}
	}
}

// A $2y$ hash written by PHP's password_hash (its documentation's example)
// verifies as it is.
func TestVerifyPHPHash(t *testing.T) {
	const php = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
	if !verifyPassword(php, "rasmuslerdorf") || verifyPassword(php, "rasmuslerdorF") {
		t.Fatal("PHP $2y$ hash does not verify as it should")
	}
	if !needsRehash(php, 10) || needsRehash("$2a$10$"+php[7:], 10) || !needsRehash("$2a$10$"+php[7:], 12) {
		t.Error("needsRehash: $2y$ always, $2a$ only at another cost")
	}
	if verifyPassword(php, strings.Repeat("r", 80)) {
		t.Error("a password longer than 72 bytes verified")
	}
}
