package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// CRM uploads go through the loader pipeline in spooled chunks, read in
// place (chunkApply) in the upload's transaction; one statement per step
// applies a chunk:
// the rows of each id are folded in file order (GROUP BY with arg_max by
// line, which is what applying them one after another would give), and
// MERGE applies the folded row to the current state by the merge mode.

// column is one column of a spooled chunk.
type column struct{ name, typ string }

func columnsStruct(cols []column) string {
	var b strings.Builder
	b.WriteString("{")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s': '%s'", c.name, c.typ)
	}
	b.WriteString("}")
	return b.String()
}

// fieldKind says how a field merges.
type fieldKind int

const (
	kindScalar  fieldKind = iota // replaced
	kindCreated                  // set once, never changed
	kindList                     // replaced, or appended to in APPEND mode
	kindJSONMap                  // replaced in SAVE, merged key by key otherwise
)

// field is one merged column of contacts or orders.
type field struct {
	col  string         // target column
	bit  crmlink.Fields // the upload carried it
	kind fieldKind
	expr string // its value from a staging row
	def  string // its value when absent, in SQL
}

// splitList turns a spooled list cell back into a list.
func splitList(col, typ string) string {
	return fmt.Sprintf("CASE WHEN %[1]s = '' THEN []::%[2]s[] ELSE CAST(string_split(%[1]s, chr(31)) AS %[2]s[]) END", col, typ)
}

// dedupe keeps the first of equal items of a list, in order.
func dedupe(e string) string {
	return fmt.Sprintf("list_filter(%[1]s, (x, i) -> list_position(%[1]s, x) = i)", e)
}

func present(bit crmlink.Fields) string { return fmt.Sprintf("(fields & %d) <> 0", uint32(bit)) }

// foldSQL is the SELECT list that folds staged rows by key.
func foldSQL(fields []field, mode crmlink.MergeMode) string {
	var parts []string
	for _, f := range fields {
		var e string
		switch {
		case f.kind == kindCreated:
			e = fmt.Sprintf("arg_min(%s, line) FILTER (WHERE %s)", f.expr, present(f.bit))
		case mode == crmlink.MergeSave:
			e = fmt.Sprintf("arg_max_null(CASE WHEN %s THEN %s END, line)", present(f.bit), f.expr)
		case f.kind == kindList && mode == crmlink.MergeAppend:
			e = fmt.Sprintf("flatten(list(%s ORDER BY line) FILTER (WHERE %s))", f.expr, present(f.bit))
		case f.kind == kindJSONMap:
			e = fmt.Sprintf("list_reduce(list(%s ORDER BY line) FILTER (WHERE %s), (a, b) -> json_merge_patch(a, b)::VARCHAR)", f.expr, present(f.bit))
		default:
			e = fmt.Sprintf("arg_max(%s, line) FILTER (WHERE %s)", f.expr, present(f.bit))
		}
		parts = append(parts, e+" AS "+f.col)
	}
	parts = append(parts, "bit_or(fields) AS fields", "count(*) AS n", "max(line) AS last_line")
	return strings.Join(parts, ",\n\t\t")
}

// rowSQL is the SELECT list that makes one staging row a folded row: what
// foldSQL gives for a key that occurs once.
func rowSQL(fields []field) string {
	var parts []string
	for _, f := range fields {
		parts = append(parts, fmt.Sprintf("CASE WHEN %s THEN %s END AS %s", present(f.bit), f.expr, f.col))
	}
	parts = append(parts, "fields", "1 AS n", "line AS last_line")
	return strings.Join(parts, ",\n\t\t")
}

// merge is one table's merge of staged rows (stage: an SQL source).
type merge struct {
	table, stage, key string
	fields            []field
	mode              crmlink.MergeMode
	// Extra assignments and inserted columns, with $n parameters.
	set, insertCols, insertVals string
	args                        []any // $1 must be the counter id
}

// run applies the staged rows of src, an SQL source, to the table. When every key occurs once
// in the upload (the usual case) it needs no folding, and plain UPDATE and
// INSERT beat MERGE over a GROUP BY several times over; otherwise MERGE
// applies the folded rows.
func (m merge) run(ctx context.Context, tx *sql.Tx, src string) error {
	m.stage = src
	return m.apply(ctx, tx, nil)
}

// probe tells of the staged rows' keys: how many repeat a key staged
// before them, and how many of the staged rows the table already holds.
type probe struct{ dups, existing, staged int64 }

// probeStage counts the repeated and the stored keys of the staged rows in
// one join.
func (m merge) probeStage(ctx context.Context, tx *sql.Tx) (probe, error) {
	var p probe
	// caller: uploads (repeated and stored keys)
	err := tx.QueryRowContext(ctx, `SELECT count(*) - count(DISTINCT s.`+m.key+`), count(t.`+m.key+`), count(*)
		FROM `+m.stage+` s LEFT JOIN (SELECT `+m.key+` FROM `+m.table+` WHERE counter_id = $1) t ON t.`+m.key+` = s.`+m.key,
		m.args[0]).Scan(&p.dups, &p.existing, &p.staged)
	return p, err
}

// apply is run for a caller that may have probed the stage already and
// passes what it learnt; without it, apply probes.
func (m merge) apply(ctx context.Context, tx *sql.Tx, known *probe) error {
	if known == nil {
		p, err := m.probeStage(ctx, tx)
		if err != nil {
			return err
		}
		known = &p
	}
	cols, vals := insertValues(m.fields, m.mode)
	if known.dups > 0 {
		// caller: uploads (merge with repeated keys)
		_, err := tx.ExecContext(ctx, `MERGE INTO `+m.table+` AS c
			USING (SELECT `+m.key+`, `+foldSQL(m.fields, m.mode)+` FROM `+m.stage+` GROUP BY `+m.key+`) AS a
			ON c.counter_id = $1 AND c.`+m.key+` = a.`+m.key+`
			WHEN MATCHED THEN UPDATE SET `+mergeSet(m.fields, m.mode)+`, `+m.set+`
			WHEN NOT MATCHED THEN INSERT (counter_id, `+m.key+`, `+cols+`, `+m.insertCols+`)
				VALUES ($1, a.`+m.key+`, `+vals+`, `+m.insertVals+`)`, m.args...)
		return err
	}
	if known.existing > 0 {
		// caller: uploads (update existing)
		if _, err := tx.ExecContext(ctx, `UPDATE `+m.table+` AS c SET `+mergeSet(m.fields, m.mode)+`, `+m.set+`
			FROM (SELECT `+m.key+`, `+rowSQL(m.fields)+` FROM `+m.stage+`) AS a
			WHERE c.counter_id = $1 AND c.`+m.key+` = a.`+m.key, m.args...); err != nil {
			return err
		}
	}
	// The probe told how many keys exist: none (a first upload) needs no
	// anti-join, all need no INSERT.
	newOnly := ""
	switch {
	case known.existing == known.staged:
		return nil
	case known.existing > 0:
		newOnly = `WHERE NOT EXISTS (SELECT 1 FROM ` + m.table + ` t WHERE t.counter_id = $1 AND t.` + m.key + ` = s.` + m.key + `)`
	}
	// caller: uploads (insert new)
	_, err := tx.ExecContext(ctx, `INSERT INTO `+m.table+` (counter_id, `+m.key+`, `+cols+`, `+m.insertCols+`)
		SELECT $1, a.`+m.key+`, `+vals+`, `+m.insertVals+`
		FROM (SELECT `+m.key+`, `+rowSQL(m.fields)+` FROM `+m.stage+` s `+newOnly+`) AS a`, m.args...)
	return err
}

// mergeSet is the UPDATE SET list applying folded row a to current row c.
func mergeSet(fields []field, mode crmlink.MergeMode) string {
	var parts []string
	for _, f := range fields {
		var e string
		switch {
		case f.kind == kindCreated:
			e = fmt.Sprintf("coalesce(c.%[1]s, a.%[1]s)", f.col)
		case mode == crmlink.MergeSave:
			e = fmt.Sprintf("coalesce(a.%s, %s)", f.col, f.def)
		case f.kind == kindList && mode == crmlink.MergeAppend:
			e = fmt.Sprintf("CASE WHEN %s THEN %s ELSE c.%s END", present(f.bit), dedupe("c."+f.col+" || a."+f.col), f.col)
		case f.kind == kindJSONMap:
			e = fmt.Sprintf("CASE WHEN %[2]s THEN json_merge_patch(c.%[1]s, a.%[1]s)::VARCHAR ELSE c.%[1]s END", f.col, present(f.bit))
		default:
			e = fmt.Sprintf("CASE WHEN %[2]s THEN a.%[1]s ELSE c.%[1]s END", f.col, present(f.bit))
		}
		parts = append(parts, f.col+" = "+e)
	}
	return strings.Join(parts, ",\n\t\t")
}

// insertValues is the VALUES list of a new row from folded row a. Readers
// dedupe each row's lists; only APPEND's folding over several rows can
// repeat an item.
func insertValues(fields []field, mode crmlink.MergeMode) (cols, vals string) {
	var cs, vs []string
	for _, f := range fields {
		cs = append(cs, f.col)
		switch {
		case f.kind == kindList && mode == crmlink.MergeAppend:
			vs = append(vs, fmt.Sprintf("coalesce(%s, %s)", dedupe("a."+f.col), f.def))
		case f.kind == kindCreated:
			vs = append(vs, "a."+f.col)
		default:
			vs = append(vs, fmt.Sprintf("coalesce(a.%s, %s)", f.col, f.def))
		}
	}
	return strings.Join(cs, ", "), strings.Join(vs, ", ")
}

// Identifier columns shared by contacts and simple orders.
var idColumns = []column{
	{"client_ids", "VARCHAR"}, {"user_ids", "VARCHAR"},
	{"email_md5", "VARCHAR"}, {"email_sha256", "VARCHAR"}, {"phone_md5", "VARCHAR"}, {"phone_sha256", "VARCHAR"},
}

var idFields = []field{
	{"client_ids", crmlink.FieldClientIDs, kindList, splitList("client_ids", "UBIGINT"), "[]::UBIGINT[]"},
	{"user_ids", crmlink.FieldUserIDs, kindList, splitList("user_ids", "VARCHAR"), "[]::VARCHAR[]"},
	{"email_md5", crmlink.FieldEmails, kindList, splitList("email_md5", "VARCHAR"), "[]::VARCHAR[]"},
	{"email_sha256", crmlink.FieldEmails, kindList, splitList("email_sha256", "VARCHAR"), "[]::VARCHAR[]"},
	{"phone_md5", crmlink.FieldPhones, kindList, splitList("phone_md5", "VARCHAR"), "[]::VARCHAR[]"},
	{"phone_sha256", crmlink.FieldPhones, kindList, splitList("phone_sha256", "VARCHAR"), "[]::VARCHAR[]"},
}

var contactColumns = append(append([]column{
	{"line", "BIGINT"}, {"uniq_id", "VARCHAR"}, {"fields", "UINTEGER"}, {"name", "VARCHAR"},
	{"created_us", "BIGINT"}, {"updated_us", "BIGINT"}, {"birth_date", "DATE"},
}, idColumns...), column{"emails", "VARCHAR"}, column{"phones", "VARCHAR"}, column{"phone_e164_sha256", "VARCHAR"},
	column{"attrs", "VARCHAR"})

var contactFields = append(append([]field{
	{"name", crmlink.FieldName, kindScalar, "name", "''"},
	{"created", crmlink.FieldCreated, kindCreated, "make_timestamp(created_us)", "NULL"},
	{"updated", crmlink.FieldUpdated, kindScalar, "make_timestamp(updated_us)", "NULL"},
	{"birth_date", crmlink.FieldBirthDate, kindScalar, "birth_date", "NULL"},
}, idFields...),
	field{"emails", crmlink.FieldEmails, kindList, splitList("emails", "VARCHAR"), "[]::VARCHAR[]"},
	field{"phones", crmlink.FieldPhones, kindList, splitList("phones", "VARCHAR"), "[]::VARCHAR[]"},
	field{"phone_e164_sha256", crmlink.FieldPhones, kindList, splitList("phone_e164_sha256", "VARCHAR"), "[]::VARCHAR[]"},
	field{"attrs", crmlink.FieldAttrs, kindJSONMap, "attrs", "'{}'"},
)

// readDone ends the reading of an upload of n rows from r: it finishes
// the loader and stamps the upload's end. A read error fails the upload,
// recorded as such (done: return err); when it is the reader's row errors,
// those the store found in the rows it checked (rejected, may be nil) are
// merged into them, in line order. A load error is returned (done too).
// Otherwise the upload has passed, with its counts, and tx is the loader's
// transaction to complete it in; the caller deals with rejected then. what
// names the upload in errors.
func (s *Store) readDone(ctx context.Context, what string, up *crmlink.Upload, l *loader, r any, n int, readErr error, rejected *crmlink.ValidationError) (tx *sql.Tx, done bool, err error) {
	tx, err = l.finish(readErr)
	up.Finished = s.clock.Now()
	if readErr != nil {
		if err != nil && ctx.Err() == nil {
			// Checking a failing file's customers failed: it is refused
			// with the errors found so far.
			s.log.Error(what+": check", "upload", up.ID, "err", err)
		}
		return nil, true, s.recordFailed(ctx, up, up.FailRead(r, n, readErr, rejected))
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", what, outOfMemory(err))
	}
	up.Pass(r, n)
	return tx, false, nil
}

// UploadContacts merges contacts. See crmlink.CRMStore.
func (s *Store) UploadContacts(ctx context.Context, up *crmlink.Upload, r crmlink.ContactReader) error {
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	up.Start(crmlink.EntityContacts, s.clock.Now())
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	mg := merge{table: "contacts", key: "uniq_id", fields: contactFields, mode: up.MergeMode,
		set: "upload_id = $2", insertCols: "upload_id, first_upload", insertVals: "$2, $3",
		args: []any{int64(up.CounterID), up.ID, utc(up.Created)}}
	l := s.newLoader(ctx, "contacts", chunkApply(ctx, contactColumns, mg.run))
	l.whenFailing(r, nil)
	n, readErr := spool.Pump(ctx, l, &crmlink.Contact{}, r.Next, func(sp *spool.Writer, c *crmlink.Contact) {
		sp.Int(int64(c.Line))
		sp.Str(c.UniqID)
		sp.Int(int64(c.Fields))
		sp.Str(c.Name)
		sp.Micros(c.Created)
		sp.Micros(c.Updated)
		sp.Date(c.BirthDate)
		spool.WriteIDs(sp, &c.IDs)
		if counter.KeepPII {
			sp.List(c.IDs.Emails)
			sp.List(c.IDs.Phones)
		} else {
			sp.Str("")
			sp.Str("")
		}
		sp.List(c.IDs.PhoneE164SHA256)
		if len(c.Attrs) > 0 {
			sp.JSON(c.Attrs)
		} else {
			sp.Str("{}")
		}
	})
	tx, done, err := s.readDone(ctx, "upload contacts", up, l, r, n, readErr, nil)
	if done {
		return err
	}
	err = func() error {
		// The contacts' identifiers may have changed: their orders link again.
		if _, _, err := s.linkOrders(ctx, tx, counter, s.clock.Now(),
			"o.uniq_id IN (SELECT uniq_id FROM contacts WHERE counter_id = $1 AND upload_id = $3)", up.ID, false); err != nil {
			return err
		}
		// And they may own other ClientIDs.
		t0 := time.Now()
		if err := refreshCrossDevice(ctx, tx, int64(up.CounterID), true, ""); err != nil {
			return err
		}
		s.step(ctx, up, "cross-device", t0)
		return insertUpload(ctx, tx, up)
	}()
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("upload contacts: %w", outOfMemory(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upload contacts: commit: %w", err)
	}
	return nil
}

// chunkApply applies each spooled chunk in turn: apply gets the chunk as
// an SQL source, a subquery over DuckDB's CSV reader. Chunks apply one
// after another in file order, while the next one is read: that is the
// order the rows would apply in one by one, and DuckDB's work overlaps the
// reading.
//
// The statements of a chunk each read its file again rather than copy it
// into a staging table: reading a spool costs a fifth of materialising
// it, and a table's rows, even deleted ones, would stay in memory until
// the upload's transaction ends, growing with the file.
func chunkApply(ctx context.Context, cols []column, apply func(ctx context.Context, tx *sql.Tx, src string) error) func(tx *sql.Tx, chunk *spool.Writer) error {
	return func(tx *sql.Tx, chunk *spool.Writer) error {
		return apply(ctx, tx, "(SELECT * FROM "+readSpool(chunk.File(), columnsStruct(cols))+")")
	}
}

// Contact returns one contact.
func (s *Store) Contact(ctx context.Context, counter crmlink.CounterID, uniqID string) (*crmlink.Contact, error) {
	var c crmlink.Contact
	var created, updated, birth sql.NullTime
	var attrs string
	var clientIDs []uint64
	lists := make([][]string, 8)
	dest := []any{&c.Name, &created, &updated, &birth, scanList(&clientIDs)}
	for i := range lists {
		dest = append(dest, scanList(&lists[i]))
	}
	dest = append(dest, &attrs)
	// caller: Contact
	err := s.db.QueryRowContext(ctx, `SELECT name, created, updated, birth_date, client_ids, user_ids,
		email_md5, email_sha256, phone_md5, phone_sha256, emails, phones, phone_e164_sha256, attrs
		FROM contacts WHERE counter_id = ? AND uniq_id = ?`, int64(counter), uniqID).Scan(dest...)
	if isNoRows(err) {
		return nil, notFound("contact", uniqID)
	}
	if err != nil {
		return nil, fmt.Errorf("contact: %w", err)
	}
	c.CounterID, c.UniqID = counter, uniqID
	c.Created, c.Updated, c.BirthDate = nullTime(created), nullTime(updated), nullTime(birth)
	c.IDs = crmlink.CustomerIDs{ClientIDs: clientIDs, UserIDs: lists[0], EmailMD5: lists[1], EmailSHA256: lists[2],
		PhoneMD5: lists[3], PhoneSHA256: lists[4], Emails: lists[5], Phones: lists[6], PhoneE164SHA256: lists[7]}
	if err := jsonUnmarshal(attrs, &c.Attrs); err != nil {
		return nil, fmt.Errorf("contact %s attrs: %w", uniqID, err)
	}
	return &c, nil
}

func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
