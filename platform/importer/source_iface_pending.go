package importer

// This file is a copy of the Source interface of the import contract, so
// that source_mysql.go compiles and its tests run in the fixtures branch
// before the engine's source.go is merged. The lead deletes it at merge.

import (
	"context"
)

// Source reads one legacy database: SQLite file, MySQL/MariaDB, or a
// directory of CSV files (one <table>.csv each, header row = columns).
type Source interface {
	// Tables lists the source's tables as it spells them.
	Tables(ctx context.Context) ([]string, error)
	// Columns lists a table's columns in order.
	Columns(ctx context.Context, table string) ([]string, error)
	// Count is the table's row count (the report's source side).
	Count(ctx context.Context, table string) (int64, error)
	// Rows streams the table's rows, values in the order of columns:
	// nil, int64, float64, string, []byte, bool or time.Time (a SQL
	// DATETIME/TIMESTAMP without zone comes as time.Time in UTC with the
	// wall clock as stored: the mapping's timezone gives it its zone).
	Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error
	// Describe is the source for messages and the report, credentials removed.
	Describe() string
	Close() error
}
