package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertUpload records an upload; it runs inside the caller's transaction
// so that an upload's record and its data commit together.
func insertUpload(ctx context.Context, ex execer, up *crmlink.Upload) error {
	unlinked, err := json.Marshal(up.Unlinked)
	if err != nil {
		return err
	}
	if up.Unlinked == nil {
		unlinked = []byte("{}")
	}
	errs := up.Errors
	if errs == nil {
		errs = []crmlink.RowError{}
	}
	errsJSON, err := json.Marshal(errs)
	if err != nil {
		return err
	}
	// caller: insertUpload (every upload and import)
	_, err = ex.ExecContext(ctx, `INSERT INTO uploads (id, counter_id, entity, format, source, merge_mode, status,
		rows, accepted, rejected, linked, unlinked, errors, errors_total, created, finished)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		up.ID, int64(up.CounterID), string(up.Entity), up.Format, up.Source, string(up.MergeMode), string(up.Status),
		up.Rows, up.Accepted, up.Rejected, up.Linked, string(unlinked), string(errsJSON), up.ErrorsTotal,
		utc(up.Created), utc(up.Finished))
	if err != nil {
		return fmt.Errorf("record upload: %w", err)
	}
	return nil
}

const uploadColumns = `id, counter_id, entity, format, source, merge_mode, status, rows, accepted, rejected, linked, unlinked, errors_total, created, finished`

func scanUpload(row interface{ Scan(...any) error }, extra ...any) (*crmlink.Upload, error) {
	var up crmlink.Upload
	var entity, mode, status, unlinked string
	dest := []any{&up.ID, &up.CounterID, &entity, &up.Format, &up.Source, &mode, &status,
		&up.Rows, &up.Accepted, &up.Rejected, &up.Linked, &unlinked, &up.ErrorsTotal, &up.Created, &up.Finished}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	up.Entity = crmlink.UploadEntity(entity)
	up.MergeMode = crmlink.MergeMode(mode)
	up.Status = crmlink.UploadStatus(status)
	up.Created = up.Created.UTC()
	up.Finished = up.Finished.UTC()
	if err := json.Unmarshal([]byte(unlinked), &up.Unlinked); err != nil {
		return nil, fmt.Errorf("upload %s: unlinked counts: %w", up.ID, err)
	}
	return &up, nil
}

// Upload returns one upload with its row errors.
func (s *Store) Upload(ctx context.Context, counter crmlink.CounterID, id string) (*crmlink.Upload, error) {
	var errs string
	// caller: Upload
	up, err := scanUpload(s.db.QueryRowContext(ctx,
		`SELECT `+uploadColumns+`, errors FROM uploads WHERE counter_id = ? AND id = ?`, int64(counter), id), &errs)
	if isNoRows(err) {
		return nil, notFound("uploading", id)
	}
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(errs), &up.Errors); err != nil {
		return nil, fmt.Errorf("upload %s: row errors: %w", id, err)
	}
	return up, nil
}

// Uploads lists a counter's uploads, newest first.
func (s *Store) Uploads(ctx context.Context, counter crmlink.CounterID, before time.Time, limit int) ([]*crmlink.Upload, error) {
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if limit <= 0 {
		limit = 100
	}
	var out []*crmlink.Upload
	// caller: Uploads (last_uploadings)
	rows, err := s.db.QueryContext(ctx, `SELECT `+uploadColumns+` FROM uploads
		WHERE counter_id = ? AND created < ? ORDER BY created DESC, seq DESC LIMIT ?`,
		int64(counter), utc(before), limit)
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		up, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("uploads: %w", err)
		}
		out = append(out, up)
	}
	return out, rows.Err()
}
