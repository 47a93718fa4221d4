package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tenancy/platform/tenant"
)

// csvSource reads a directory of <table>.csv files, each with a header
// row naming its columns. Every value is a string (CSV has no NULL: an
// empty field is "", which the transform nullempty turns into null).
type csvSource struct{ dir string }

func openCSV(u *url.URL) (Source, error) {
	dir, err := filePath(u)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, tenant.Errorf(tenant.EInvalid, "--from csv://%s: no such directory", dir)
	case err != nil:
		return nil, tenant.Errorf(tenant.EUnavailable, "--from csv://%s: %v", dir, errors.Unwrap(err))
	case !st.IsDir():
		return nil, tenant.Errorf(tenant.EInvalid, "--from csv://%s: not a directory (one TABLE.csv file per table)", dir)
	}
	return &csvSource{dir: dir}, nil
}

func (s *csvSource) Describe() string { return "csv://" + s.dir }
func (s *csvSource) Close() error     { return nil }

func (s *csvSource) Tables(context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, tenant.Errorf(tenant.EUnavailable, "%s: %v", s.Describe(), errors.Unwrap(err))
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".csv"); ok && !e.IsDir() && n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// open returns a reader of table's file positioned after the header.
func (s *csvSource) open(table string) (*os.File, *csv.Reader, []string, error) {
	if strings.ContainsAny(table, `/\`) || table == "" {
		return nil, nil, nil, tenant.Errorf(tenant.EInvalid, "%s: bad table name %q", s.Describe(), table)
	}
	f, err := os.Open(filepath.Join(s.dir, table+".csv"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, tenant.Errorf(tenant.ENotFound, "%s: no table %q", s.Describe(), table)
	}
	if err != nil {
		return nil, nil, nil, tenant.Errorf(tenant.EUnavailable, "%s: %v", s.Describe(), errors.Unwrap(err))
	}
	r := csv.NewReader(f)
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, nil, nil, tenant.Errorf(tenant.EInvalid, "%s: %s.csv is empty (want a header row)", s.Describe(), table)
		}
		return nil, nil, nil, tenant.Errorf(tenant.EInvalid, "%s: %s.csv: %v", s.Describe(), table, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a spreadsheet's BOM
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	return f, r, header, nil
}

func (s *csvSource) Columns(_ context.Context, table string) ([]string, error) {
	f, _, header, err := s.open(table)
	if err != nil {
		return nil, err
	}
	f.Close()
	return header, nil
}

func (s *csvSource) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.each(ctx, table, func([]string, []string) error { n++; return nil })
	return n, err
}

func (s *csvSource) each(ctx context.Context, table string, fn func(header, rec []string) error) error {
	f, r, header, err := s.open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return tenant.Errorf(tenant.EInvalid, "%s: %s.csv: %v", s.Describe(), table, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(header, rec); err != nil {
			return err
		}
	}
}

func (s *csvSource) Rows(ctx context.Context, table string, columns []string, fn func(row []any) error) error {
	var idx []int
	return s.each(ctx, table, func(header, rec []string) error {
		if idx == nil {
			for _, c := range columns {
				i := -1
				for j, h := range header {
					if h == c {
						i = j
						break
					}
				}
				if i < 0 {
					return tenant.Errorf(tenant.EInvalid, "%s: %s.csv has no column %q", s.Describe(), table, c)
				}
				idx = append(idx, i)
			}
		}
		row := make([]any, len(idx))
		for k, i := range idx {
			row[k] = rec[i]
		}
		return fn(row)
	})
}
