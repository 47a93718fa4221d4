package auth

import (
	"fmt"
	"testing"
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
