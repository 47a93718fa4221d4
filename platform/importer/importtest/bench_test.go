package importtest_test

import (
	"testing"

	"github.com/tenancy/platform/platform/importer/importtest"
)

// Building the fixtures at a million rows (the importer's figures):
//
//	go test ./platform/importer/importtest/ -run '^$' -bench . -benchtime 1x
const million = 1_000_000

func BenchmarkVerificarSMSMillion(b *testing.B) {
	for b.Loop() {
		importtest.VerificarSMS(b, importtest.Options{Rows: map[string]int{importtest.VerificarSMSVerifications: million}})
	}
	b.ReportMetric(float64(million*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkSiscaMillion(b *testing.B) {
	for b.Loop() {
		importtest.Sisca(b, importtest.Options{Rows: map[string]int{"auditoria": million}})
	}
	b.ReportMetric(float64(million*b.N)/b.Elapsed().Seconds(), "rows/s")
}
