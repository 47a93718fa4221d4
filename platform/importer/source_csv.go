package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
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
type csvSource struct {
	dir string
	log *slog.Logger
}

// maxRecordBytes bounds one CSV record (a row, over as many lines as its
// quoted fields span): an unclosed quote would otherwise make the rest of
// the file one field, all of it in memory.
const maxRecordBytes = 4 * maxValueBytes

func openCSV(u *url.URL, log *slog.Logger) (Source, error) {
	dir, err := filePath(u)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, tenant.Errorf(tenant.EInvalid, "--from csv://%s: no such directory", dir)
	case errors.Is(err, fs.ErrPermission):
		return nil, tenant.Errorf(tenant.EInvalid, "--from csv://%s: permission denied", dir)
	case err != nil:
		logCause(log, "csv://"+dir, "stat", err, "")
		return nil, tenant.Errorf(tenant.EUnavailable, "--from csv://%s: cannot read the directory", dir)
	case !st.IsDir():
		return nil, tenant.Errorf(tenant.EInvalid, "--from csv://%s: not a directory (one TABLE.csv file per table)", dir)
	}
	return &csvSource{dir: dir, log: log}, nil
}

// ioErr is the fixed line of a failure to read the directory or a file
// (what: "users.csv"); the OS's message goes to the log.
func (s *csvSource) ioErr(what string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return tenant.Errorf(tenant.EInvalid, "%s: %s: permission denied", s.Describe(), what)
	}
	logCause(s.log, s.Describe(), what, err, "")
	return tenant.Errorf(tenant.EUnavailable, "%s: %s: cannot read it", s.Describe(), what)
}

// errRecordTooLong is recordLimit's refusal.
var errRecordTooLong = errors.New("csv record too long")

// recordLimit fails a read that would take the csv.Reader more than
// maxRecordBytes past the end of the last whole record (next sets that
// end after each record).
type recordLimit struct {
	r     io.Reader
	read  int64 // bytes handed out
	limit int64 // read never passes it
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.read >= l.limit {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > l.limit-l.read {
		p = p[:l.limit-l.read]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// next allows the record after offset (the csv.Reader's InputOffset).
func (l *recordLimit) next(offset int64) { l.limit = offset + maxRecordBytes }

// csvFile is one open table file.
type csvFile struct {
	f      *os.File
	r      *csv.Reader
	lim    *recordLimit
	table  string
	header []string
	rows   int // data records read
}

// read is the next record, checked against the size limits; io.EOF at
// the end.
func (s *csvSource) read(c *csvFile) ([]string, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, s.parseErr(c, err)
	}
	c.lim.next(c.r.InputOffset())
	if c.header != nil {
		c.rows++
		for i, v := range rec {
			if len(v) > maxValueBytes && i < len(c.header) {
				return nil, tooBig(s.Describe(), c.table, c.header[i])
			}
		}
	}
	return rec, nil
}

// parseErr is a csv.Reader's failure as one line: where and what in the
// file (the parser's messages quote no value), or the fixed I/O line.
func (s *csvSource) parseErr(c *csvFile, err error) error {
	if errors.Is(err, errRecordTooLong) {
		which := "the header row"
		if c.header != nil {
			which = fmt.Sprintf("row %d", c.rows+1)
		}
		return tenant.Errorf(tenant.EInvalid, "%s: %s.csv: %s is over %d MiB (an unclosed quote?)", s.Describe(), c.table, which, maxRecordBytes>>20)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		var what string
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			what = "wrong number of fields"
		case errors.Is(pe.Err, csv.ErrQuote):
			what = `extraneous or missing " in a quoted field`
		case errors.Is(pe.Err, csv.ErrBareQuote):
			what = `a bare " in a field without quotes`
		default:
			return s.ioErr(c.table+".csv", err)
		}
		return tenant.Errorf(tenant.EInvalid, "%s: %s.csv: line %d: %s", s.Describe(), c.table, pe.Line, what)
	}
	return s.ioErr(c.table+".csv", err)
}

func (s *csvSource) Describe() string { return "csv://" + s.dir }
func (s *csvSource) Close() error     { return nil }

func (s *csvSource) Tables(context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, s.ioErr("list the directory", err)
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

// open returns table's file positioned after the header.
func (s *csvSource) open(table string) (*csvFile, error) {
	if strings.ContainsAny(table, `/\`) || table == "" {
		return nil, tenant.Errorf(tenant.EInvalid, "%s: bad table name %q", s.Describe(), table)
	}
	f, err := os.Open(filepath.Join(s.dir, table+".csv"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, tenant.Errorf(tenant.ENotFound, "%s: no table %q", s.Describe(), table)
	}
	if err != nil {
		return nil, s.ioErr(table+".csv", err)
	}
	lim := &recordLimit{r: f, limit: maxRecordBytes}
	r := csv.NewReader(lim)
	r.ReuseRecord = false
	c := &csvFile{f: f, r: r, lim: lim, table: table}
	header, err := s.read(c)
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, tenant.Errorf(tenant.EInvalid, "%s: %s.csv is empty (want a header row)", s.Describe(), table)
		}
		return nil, err
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // a spreadsheet's BOM
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	c.header = header
	return c, nil
}

func (s *csvSource) Columns(_ context.Context, table string) ([]string, error) {
	c, err := s.open(table)
	if err != nil {
		return nil, err
	}
	c.f.Close()
	return c.header, nil
}

func (s *csvSource) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.each(ctx, table, func([]string, []string) error { n++; return nil })
	return n, err
}

func (s *csvSource) each(ctx context.Context, table string, fn func(header, rec []string) error) error {
	c, err := s.open(table)
	if err != nil {
		return err
	}
	defer c.f.Close()
	for {
		rec, err := s.read(c)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(c.header, rec); err != nil {
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
