package i18n

import "testing"

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept, choice string
		want           Lang
	}{
		{"es-CL,es;q=0.9,en;q=0.8", "", Spanish},
		{"en-US,en;q=0.9", "", English},
		{"es-MX", "", Spanish},
		{"es-419,es;q=0.9", "", Spanish},
		{"en-GB", "", English},
		{"fr-FR, de;q=0.5", "", Spanish},           // nothing we speak: the default
		{"fr-FR, de;q=0.5, en;q=0.3", "", English}, // the one we speak, however low
		{"es;q=0.2, en-US;q=0.9", "", English},     // q-values, not order, decide
		{"en;q=0.5, es-CL;q=0.8", "", Spanish},     // ditto
		{"en-US;q=0, es;q=0.1", "", Spanish},       // q=0 is "not acceptable"
		{"", "", Spanish},                          // no header
		{"*", "", Spanish},                         // anything
		{"en-US;q=abc", "", Spanish},               // malformed
		{"@@@, ;;;", "", Spanish},                  // malformed
		{"en-US,en;q=0.9", "es", Spanish},          // the saved choice wins
		{"es-CL,es;q=0.9", "en", English},          // either way
		{"es-CL,es;q=0.9", " EN ", English},        // spelled loosely
		{"en-US,en;q=0.9", "fr", English},          // not a choice: the header decides
		{"", "english", Spanish},                   // ditto, and no header
	}
	for _, tt := range tests {
		if got := Negotiate(tt.accept, tt.choice); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.accept, tt.choice, got, tt.want)
		}
	}
}

func TestParseLang(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Lang
		ok   bool
	}{{"es", Spanish, true}, {"en", English, true}, {"Es", Spanish, true}, {"", "", false}, {"es-CL", "", false}, {"de", "", false}} {
		if got, ok := ParseLang(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("ParseLang(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if Spanish.Tag().String() != "es" || English.Tag().String() != "en" || Langs()[0] != Spanish {
		t.Errorf("tags %s %s, langs %v", Spanish.Tag(), English.Tag(), Langs())
	}
}
