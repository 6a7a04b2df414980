package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

const segmentColumns = `id, counter_id, name, expression, created, updated`

func scanSegment(row interface{ Scan(...any) error }) (*crmlink.Segment, error) {
	var sg crmlink.Segment
	if err := row.Scan(&sg.ID, &sg.CounterID, &sg.Name, &sg.Expression, &sg.Created, &sg.Updated); err != nil {
		return nil, err
	}
	sg.Created, sg.Updated = sg.Created.UTC(), sg.Updated.UTC()
	return &sg, nil
}

// CreateSegment stores a new segment. See crmlink.SegmentStore.
func (s *Store) CreateSegment(ctx context.Context, sg *crmlink.Segment) error {
	if _, err := s.Counter(ctx, sg.CounterID); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		// caller: CreateSegment (count)
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segments WHERE counter_id = ?`, int64(sg.CounterID)).Scan(&n); err != nil {
			return fmt.Errorf("create segment: %w", err)
		}
		if n >= crmlink.MaxSegmentsPerCounter {
			return crmlink.Errorf(crmlink.KindConflict, "the counter has %d segments, the most it keeps: delete one first", n)
		}
		now := utc(s.clock.Now()).Truncate(time.Second)
		// caller: CreateSegment
		err := tx.QueryRowContext(ctx, `INSERT INTO segments (counter_id, name, expression, created, updated)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, int64(sg.CounterID), sg.Name, sg.Expression, now, now).Scan(&sg.ID)
		if err != nil {
			return fmt.Errorf("create segment: %w", err)
		}
		sg.Created, sg.Updated = now, now
		return nil
	})
}

// Segment returns one segment. See crmlink.SegmentStore.
func (s *Store) Segment(ctx context.Context, counter crmlink.CounterID, id crmlink.SegmentID) (*crmlink.Segment, error) {
	// caller: Segment
	sg, err := scanSegment(s.db.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE counter_id = ? AND id = ?`,
		int64(counter), int64(id)))
	if isNoRows(err) {
		return nil, notFound("segment", id)
	}
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", id, err)
	}
	return sg, nil
}

// Segments lists a counter's segments. See crmlink.SegmentStore.
func (s *Store) Segments(ctx context.Context, counter crmlink.CounterID) ([]*crmlink.Segment, error) {
	// caller: Segments
	rows, err := s.db.QueryContext(ctx, `SELECT `+segmentColumns+` FROM segments WHERE counter_id = ? ORDER BY id`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	defer rows.Close()
	out := []*crmlink.Segment{}
	for rows.Next() {
		sg, err := scanSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("segments: %w", err)
		}
		out = append(out, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	return out, nil
}

// UpdateSegment stores a segment's name and expression. See
// crmlink.SegmentStore.
func (s *Store) UpdateSegment(ctx context.Context, sg *crmlink.Segment) error {
	now := utc(s.clock.Now()).Truncate(time.Second)
	// caller: UpdateSegment
	err := s.db.QueryRowContext(ctx, `UPDATE segments SET name = ?, expression = ?, updated = ?
		WHERE counter_id = ? AND id = ? RETURNING created`,
		sg.Name, sg.Expression, now, int64(sg.CounterID), int64(sg.ID)).Scan(&sg.Created)
	if isNoRows(err) {
		return notFound("segment", sg.ID)
	}
	if err != nil {
		return fmt.Errorf("update segment %d: %w", sg.ID, err)
	}
	sg.Created, sg.Updated = sg.Created.UTC(), now
	return nil
}

// DeleteSegment removes a segment. See crmlink.SegmentStore.
func (s *Store) DeleteSegment(ctx context.Context, counter crmlink.CounterID, id crmlink.SegmentID) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// caller: DeleteSegment
		res, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE counter_id = ? AND id = ?`, int64(counter), int64(id))
		if err != nil {
			return fmt.Errorf("delete segment %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("segment", id)
		}
		// caller: DeleteSegment (pushes)
		if _, err := tx.ExecContext(ctx, `DELETE FROM segment_pushes WHERE counter_id = ? AND segment_id = ?`, int64(counter), int64(id)); err != nil {
			return fmt.Errorf("delete segment %d: %w", id, err)
		}
		return nil
	})
}

// RecordSegmentExport records an audience file downloaded or pushed. See
// crmlink.SegmentStore.
func (s *Store) RecordSegmentExport(ctx context.Context, e *crmlink.SegmentExport) error {
	e.At = utc(s.clock.Now())
	// caller: RecordSegmentExport
	_, err := s.db.ExecContext(ctx, `INSERT INTO segment_exports (counter_id, segment_id, segment_name, kind, format, who, time, rows, members, left_out, target, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, int64(e.CounterID), int64(e.SegmentID), e.SegmentName, e.Kind, e.Format, e.Who, e.At,
		e.Rows, e.Members, e.LeftOut, e.Target, e.Error)
	if err != nil {
		return fmt.Errorf("record segment export: %w", err)
	}
	return nil
}

// SegmentExports lists a counter's exports. See crmlink.SegmentStore.
func (s *Store) SegmentExports(ctx context.Context, counter crmlink.CounterID, segment crmlink.SegmentID, limit int) ([]crmlink.SegmentExport, error) {
	// caller: SegmentExports
	rows, err := s.db.QueryContext(ctx, `SELECT counter_id, segment_id, segment_name, kind, format, who, time, rows, members, left_out, target, error
		FROM segment_exports WHERE counter_id = ? AND (? = 0 OR segment_id = ?) ORDER BY time DESC, rowid DESC LIMIT ?`,
		int64(counter), int64(segment), int64(segment), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("segment exports: %w", err)
	}
	defer rows.Close()
	out := []crmlink.SegmentExport{}
	for rows.Next() {
		var e crmlink.SegmentExport
		if err := rows.Scan(&e.CounterID, &e.SegmentID, &e.SegmentName, &e.Kind, &e.Format, &e.Who, &e.At, &e.Rows, &e.Members,
			&e.LeftOut, &e.Target, &e.Error); err != nil {
			return nil, fmt.Errorf("segment exports: %w", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segment exports: %w", err)
	}
	return out, nil
}

// SetAudienceTarget stores a counter's target on a platform. See
// crmlink.SegmentStore.
func (s *Store) SetAudienceTarget(ctx context.Context, t *crmlink.AudienceTarget) error {
	t.Updated = utc(s.clock.Now())
	// caller: SetAudienceTarget
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO audience_targets (counter_id, platform, base_url, token, updated) VALUES (?, ?, ?, ?, ?)`,
		int64(t.CounterID), t.Platform, t.BaseURL, t.Token, t.Updated)
	if err != nil {
		return fmt.Errorf("set audience target: %w", err)
	}
	return nil
}

// AudienceTarget returns a counter's target on a platform. See
// crmlink.SegmentStore.
func (s *Store) AudienceTarget(ctx context.Context, counter crmlink.CounterID, platform string) (*crmlink.AudienceTarget, error) {
	t := crmlink.AudienceTarget{CounterID: counter, Platform: platform}
	// caller: AudienceTarget
	err := s.db.QueryRowContext(ctx, `SELECT base_url, token, updated FROM audience_targets WHERE counter_id = ? AND platform = ?`,
		int64(counter), platform).Scan(&t.BaseURL, &t.Token, &t.Updated)
	if isNoRows(err) {
		return nil, notFound("audience target", platform)
	}
	if err != nil {
		return nil, fmt.Errorf("audience target: %w", err)
	}
	t.Updated = t.Updated.UTC()
	return &t, nil
}

// SetSegmentPush stores a segment's push. See crmlink.SegmentStore.
func (s *Store) SetSegmentPush(ctx context.Context, p *crmlink.SegmentPush) error {
	var last any
	if !p.LastPush.IsZero() {
		last = utc(p.LastPush)
	}
	// caller: SetSegmentPush
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO segment_pushes (counter_id, segment_id, format, target_id, every_hours, last_push)
		VALUES (?, ?, ?, ?, ?, ?)`, int64(p.CounterID), int64(p.SegmentID), p.Format, p.TargetID, p.EveryHours, last)
	if err != nil {
		return fmt.Errorf("set segment push: %w", err)
	}
	return nil
}

// SegmentPushes lists segments' pushes. See crmlink.SegmentStore.
func (s *Store) SegmentPushes(ctx context.Context, counter crmlink.CounterID) ([]crmlink.SegmentPush, error) {
	// caller: SegmentPushes
	rows, err := s.db.QueryContext(ctx, `SELECT counter_id, segment_id, format, target_id, every_hours, last_push FROM segment_pushes
		WHERE ? = 0 OR counter_id = ? ORDER BY counter_id, segment_id, format`, int64(counter), int64(counter))
	if err != nil {
		return nil, fmt.Errorf("segment pushes: %w", err)
	}
	defer rows.Close()
	var out []crmlink.SegmentPush
	for rows.Next() {
		var p crmlink.SegmentPush
		var last sql.NullTime
		if err := rows.Scan(&p.CounterID, &p.SegmentID, &p.Format, &p.TargetID, &p.EveryHours, &last); err != nil {
			return nil, fmt.Errorf("segment pushes: %w", err)
		}
		p.LastPush = nullTime(last)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("segment pushes: %w", err)
	}
	return out, nil
}
