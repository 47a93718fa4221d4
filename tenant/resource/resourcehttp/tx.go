package resourcehttp

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
)

// txConn is a write's transaction on one connection, in as few round
// trips as the protocol allows: its BEGIN travels in one batch with its
// first statement, and its audit row with its COMMIT. A create costs two
// round trips instead of four (BEGIN, INSERT, INSERT audit, COMMIT), which
// is most of a write's time on the wire.
type txConn struct {
	conn  *pgxpool.Conn
	begun bool
}

var _ resourcepg.DBTX = (*txConn)(nil)

// first sends BEGIN and sql in one batch and returns the batch with
// BEGIN's result read.
func (t *txConn) first(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sql, args...)
	br := t.conn.SendBatch(ctx, b)
	t.begun = true
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return &firstRow{rows: rows, err: err}
}

// commit sends the audit row and COMMIT in one batch.
func (t *txConn) commit(ctx context.Context, e audit.Entry) error {
	b := &pgx.Batch{}
	if !t.begun { // nothing written but the audit row: its own statement
		if err := audit.Queue(b, e); err != nil {
			return err
		}
		return t.conn.SendBatch(ctx, b).Close()
	}
	if err := audit.Queue(b, e); err != nil {
		return err
	}
	b.Queue("COMMIT")
	br := t.conn.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && t.conn.Conn().PgConn().TxStatus() != 'I' {
		err = errors.New("resourcehttp: the transaction did not commit")
	}
	return err
}

// rollback ends a transaction that failed; a connection that cannot is
// closed by the pool on release (it checks the transaction status).
func (t *txConn) rollback(ctx context.Context) {
	if t.begun && t.conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
}

// batchRows are the rows of a batch's last statement: closing them closes
// the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return nil
}

// firstRow is QueryRow over Query.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r *firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
