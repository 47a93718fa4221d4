// Package migrations embeds the SQL migrations of the catalog and of each
// tenant kind. A tenant database of kind K is migrated with the union of
// common/ and K/, one version sequence: a version number is never reused
// between common/ and a kind.
package migrations

import (
	"embed"
	"errors"
	"io/fs"
	"sort"
)

//go:embed catalog/*.sql common/*.sql restaurant/*.sql institution/*.sql
var files embed.FS

// Dirs are the directories a migration may be created in.
var Dirs = []string{"catalog", "common", "restaurant", "institution"}

// Catalog returns the catalog's migrations.
func Catalog() fs.FS { return sub("catalog") }

// ForKind returns the migrations of a tenant kind: common/ and kind/.
func ForKind(kind string) (fs.FS, error) {
	if kind == "catalog" || kind == "common" {
		return nil, errors.New("migrations: not a tenant kind: " + kind)
	}
	k, err := fs.Sub(files, kind)
	if err != nil {
		return nil, err
	}
	if _, err := fs.ReadDir(k, "."); err != nil {
		return nil, errors.New("migrations: unknown kind: " + kind)
	}
	return union{sub("common"), k}, nil
}

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // only on a bad constant
	}
	return f
}

// union shows the files of several flat directories as one directory.
type union []fs.FS

func (u union) Open(name string) (fs.File, error) {
	if name == "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	for _, f := range u {
		file, err := f.Open(name)
		if err == nil {
			return file, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (u union) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var all []fs.DirEntry
	for _, f := range u {
		es, err := fs.ReadDir(f, ".")
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all, nil
}
