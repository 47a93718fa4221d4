package i18n

import (
	"errors"
	"testing"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	clp, err := NewLocale("es-CL", "CLP", "America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	mxn, err := NewLocale("es-MX", "MXN", "America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		loc  Locale
		in   string
		want int64
		err  error
	}{
		{"clp plain", clp, "4500", 450000, nil},
		{"clp grouped", clp, "4.500", 450000, nil},
		{"clp grouped comma", clp, "4,500", 450000, nil},
		{"clp millions", clp, "1.234.567", 123456700, nil},
		{"clp symbol and spaces", clp, " $ 12.990 ", 1299000, nil},
		{"clp foreign symbol", clp, "CLP$990", 99000, nil},
		{"clp zero", clp, "0", 0, nil},
		{"clp zero decimals", clp, "4.500,00", 450000, nil},
		{"clp decimals", clp, "4,5", 0, ErrAmountDecimals},
		{"clp two decimals", clp, "4500.50", 0, ErrAmountDecimals},
		{"clp bad group", clp, "45.00.0", 0, ErrAmountInvalid},
		{"clp short group", clp, "4.50.000", 0, ErrAmountInvalid},
		{"clp letters", clp, "cuatro mil", 0, ErrAmountInvalid},
		{"clp negative", clp, "-4500", 0, ErrAmountInvalid},
		{"clp empty", clp, "  ", 0, ErrAmountInvalid},
		{"clp symbol only", clp, "$", 0, ErrAmountInvalid},
		{"clp too large", clp, "99.999.999.999", 0, ErrAmountTooLarge},
		{"clp largest", clp, "21474836", 2147483600, nil},
		{"mxn point", mxn, "45.50", 4550, nil},
		{"mxn comma", mxn, "45,50", 4550, nil},
		{"mxn one decimal", mxn, "45.5", 4550, nil},
		{"mxn whole", mxn, "45", 4500, nil},
		{"mxn grouped", mxn, "1,299.90", 129990, nil},
		{"mxn grouped es", mxn, "1.299,90", 129990, nil},
		{"mxn thousands", mxn, "1,234", 123400, nil},
		{"mxn symbol", mxn, "MX$ 10.05", 1005, nil},
		{"mxn three decimals", mxn, "45.5055", 0, ErrAmountDecimals},
		{"mxn trailing point", mxn, "45.", 0, ErrAmountInvalid},
		{"mxn leading point", mxn, ".50", 0, ErrAmountInvalid},
		{"mxn two points", mxn, "4.5.0", 0, ErrAmountInvalid},
		{"mxn mixed after decimal", mxn, "1.234,5.6", 0, ErrAmountInvalid},
		{"mxn exponent", mxn, "1e3", 0, ErrAmountInvalid},
		{"mxn too large", mxn, "21474837", 0, ErrAmountTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.loc.ParseMoney(tc.in)
			if !errors.Is(err, tc.err) || (tc.err == nil && got != tc.want) {
				t.Fatalf("ParseMoney(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// Amount is what a form shows; ParseMoney reads it back.
func TestAmountRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		locale, currency string
		cents            int64
		want             string
	}{
		{"es-CL", "CLP", 450000, "4.500"},
		{"es-CL", "CLP", 0, "0"},
		{"es-MX", "MXN", 129990, "1,299.90"},
		{"es-MX", "MXN", 5, "0.05"},
		{"es-CL", "MXN", 4550, "45,50"},
		{"en-US", "USD", 100000000, "1,000,000.00"},
	} {
		l, err := NewLocale(tc.locale, tc.currency, "UTC")
		if err != nil {
			t.Fatal(err)
		}
		got := l.Amount(tc.cents)
		if got != tc.want {
			t.Errorf("%s %s Amount(%d) = %q, want %q", tc.locale, tc.currency, tc.cents, got, tc.want)
		}
		back, err := l.ParseMoney(got)
		if err != nil || back != tc.cents {
			t.Errorf("%s %s ParseMoney(%q) = %d, %v; want %d", tc.locale, tc.currency, got, back, err, tc.cents)
		}
	}
}
