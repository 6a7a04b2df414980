// Package duckdb is crmlink's embedded store, on DuckDB: one file on disk,
// no server to run, columnar so that linking and reports over tens of
// millions of sessions run in about a second on two cores.
package duckdb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
	"github.com/crmlink/crmlink/store"
	ddb "github.com/duckdb/duckdb-go/v2" // also registers the "duckdb" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is crmlink.Store on DuckDB.
type Store struct {
	db    *sql.DB
	path  string
	clock crmlink.Clock
	// audiencePage: see audiencePage.
	audiencePage int
	// spoolDir holds imports' temporary files: beside the database, so
	// they land on the disk meant for data, or the system's temp dir for
	// an in-memory store.
	spoolDir string
	// linkRows is the most orders one linking statement takes
	// (linkSliceRows; tests make it small).
	linkRows int
	// chunkRows is the rows of one import chunk (spool.ChunkRows; tests
	// make it small to cross chunk boundaries).
	chunkRows int

	// log gets a debug line per step of an upload, with its duration.
	log *slog.Logger
	// heap is called where an upload leaves Go's heap mostly garbage.
	heap store.Heap

	closeOnce sync.Once

	// probeMu lets one health probe write its row at a time: two at once
	// would conflict in DuckDB.
	probeMu sync.Mutex

	// writeMu serialises writing transactions. DuckDB's optimistic
	// concurrency would abort one of two concurrent writers to the same
	// table; one process owns the file, so a mutex is the cheaper answer.
	writeMu sync.Mutex

	// knownGoals are the action goals the store surely has (goals are
	// never deleted): hits that reach only these skip creating goals.
	goalsMu    sync.Mutex
	knownGoals map[goalKey]bool

	// filters tell, per counter, which ClientIDs surely have no session
	// (clientfilter.go); building are those being built.
	filterMu sync.Mutex
	filters  map[crmlink.CounterID]*clientFilter
	building map[crmlink.CounterID]*filterBuild
	// sessionsMu is held, after writeMu, by every transaction that
	// inserts sessions, until it ends: a filter being built takes its
	// snapshot under it (clientfilter.go).
	sessionsMu sync.Mutex

	// identFilters tell, per counter, which identities surely are not
	// in site_identities (identfilter.go); writeMu guards them.
	identFilters map[crmlink.CounterID]*clientFilter
	identSeed    maphash.Seed

	// attrCounts are the new hit sessions stored with the collector's
	// attribution, and those chunkInsertSQL attributed (tests; writeMu
	// guards them).
	attrCounts [2]int64
}

var _ crmlink.Engine = (*Store)(nil)

// WithHeap makes the store call h's functions where an upload leaves Go's
// heap mostly garbage.
func WithHeap(h store.Heap) Option { return func(s *Store) { s.heap = h } }

// WithLogger makes the store log to l: its background work's failures,
// and at debug level each step of an upload with its duration.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// step logs that an upload's step took from t0 until now, with what
// DuckDB's allocator then has allocated and holds resident, in MiB.
func (s *Store) step(ctx context.Context, up *crmlink.Upload, step string, t0 time.Time) {
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"upload", up.ID, "step", step, "ms", time.Since(t0).Milliseconds()}
	if allocated, resident, ok := allocatorStats(); ok {
		attrs = append(attrs, "allocated_mib", allocated>>20, "resident_mib", resident>>20)
	}
	s.log.DebugContext(ctx, "upload step", attrs...)
}

// ParseURL returns the database path and DuckDB options of a store URL:
// duckdb:///abs/path.db, duckdb://./relative/path.db, duckdb://relative.db
// or duckdb://:memory:. Query parameters are DuckDB settings, such as
// ?memory_limit=4GB&threads=2.
func ParseURL(raw string) (path string, opts url.Values, err error) {
	rest, ok := strings.CutPrefix(raw, "duckdb://")
	if !ok {
		return "", nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: want duckdb:///path/to/file.db", raw)
	}
	rest, query, _ := strings.Cut(rest, "?")
	opts, err = url.ParseQuery(query)
	if err != nil {
		return "", nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: bad query: %v", raw, err)
	}
	for k := range opts {
		if !validSetting(k) {
			return "", nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q: %q is not a DuckDB setting name", raw, k)
		}
	}
	if rest == "" {
		return "", nil, crmlink.Errorf(crmlink.KindInvalid, "store URL %q has no path: want duckdb:///path/to/file.db", raw)
	}
	if rest == ":memory:" {
		return "", opts, nil
	}
	if p, err := url.PathUnescape(rest); err == nil {
		rest = p
	}
	return filepath.Clean(rest), opts, nil
}

func validSetting(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

func init() {
	store.Register("duckdb", func(ctx context.Context, url string, cfg store.Config) (crmlink.Engine, error) {
		opts := []Option{WithHeap(cfg.Heap)}
		if cfg.Log != nil {
			opts = append(opts, WithLogger(cfg.Log))
		}
		if cfg.ChunkRows > 0 {
			opts = append(opts, func(s *Store) { s.chunkRows, s.linkRows = cfg.ChunkRows, cfg.ChunkRows })
		}
		return Open(ctx, url, cfg.Clock, opts...)
	})
}

// Option changes how Open opens a store.
type Option func(*Store)

// Open opens (creating if needed) the store at a duckdb:// URL and brings
// its schema up to date. The engine is a crmlink.Engine: package store
// makes a Store of it, whose pipelines apply the hits and uploads it holds
// from before a stop or a crash.
func Open(ctx context.Context, rawURL string, clock crmlink.Clock, options ...Option) (*Store, error) {
	path, opts, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, crmlink.Errorf(crmlink.KindInvalid, "store directory %s: %v", dir, err)
			}
		}
	}
	// Inserts need not keep the order of their input (queries that care
	// say ORDER BY); this lets DuckDB load with both cores.
	if !opts.Has("preserve_insertion_order") {
		opts.Set("preserve_insertion_order", "false")
	}
	// DuckDB's allocator (its own jemalloc on Linux) keeps the pages a
	// large statement freed until more allocations come, that is forever
	// in a server gone quiet. With background threads the pages go back
	// to the system within seconds, at no cost we could measure.
	if !opts.Has("allocator_background_threads") {
		opts.Set("allocator_background_threads", "true")
	}
	dsn := path
	if len(opts) > 0 {
		dsn += "?" + opts.Encode()
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, openError(path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, openError(path, err)
	}
	s := &Store{db: db, path: path, clock: clock, audiencePage: audiencePage, spoolDir: os.TempDir(), chunkRows: spool.ChunkRows, linkRows: linkSliceRows,
		log: slog.New(slog.DiscardHandler), identSeed: maphash.MakeSeed()}
	for _, o := range options {
		o(s)
	}
	if path != "" {
		s.spoolDir = filepath.Dir(path)
		// Spool files left by a process that died mid-upload: holding the
		// database's lock, we know no upload is using them.
		if old, err := filepath.Glob(filepath.Join(s.spoolDir, "crmlink-*-*.tsv")); err == nil {
			for _, f := range old {
				os.Remove(f)
			}
		}
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.buildCrossDevice(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func openError(path string, err error) error {
	if isLocked(err) {
		return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
			"store %s is in use by another process (a running `crmlink serve`? stop it, or send the command to it with --server URL --token T)", path),
			crmlink.ErrInUse)
	}
	return crmlink.Errorf(crmlink.KindInvalid, "open store %s: %v", path, err)
}

// Close closes the database after writes in flight have finished.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var err error
	s.closeOnce.Do(func() { err = s.db.Close() })
	return err
}

// LocalDir is the directory beside the database file for the store's
// other files (the hit log's, the upload queue's), or "" for an in-memory store. See
// crmlink.Engine.
func (s *Store) LocalDir() string {
	if s.path == "" {
		return ""
	}
	return s.path + ".d"
}

// DB exposes the database to benchmarks and tests in this module.
func (s *Store) DB() *sql.DB { return s.db }

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction, in number order.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied TIMESTAMP NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
				v, base, s.clock.Now().UTC())
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction under the write lock.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.inTxLocked(ctx, s.db, fn)
}

type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (s *Store) inTxLocked(ctx context.Context, db beginner, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func notFound(what string, id any) error {
	return crmlink.Errorf(crmlink.KindNotFound, "%s %v not found", what, id)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// utc returns t in UTC with the monotonic reading dropped, as stored.
func utc(t time.Time) time.Time { return t.UTC().Round(0) }

// outOfMemory tells the user, rather than only the log, when DuckDB ran
// out of the memory its memory_limit allows: an upload or a report, the
// statements that need memory, can be tried again after raising it in the
// store URL. Other errors pass unchanged.
func outOfMemory(err error) error {
	if !isType(err, ddb.ErrorTypeOutOfMemory) {
		return err
	}
	return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
		"the store ran out of memory (DuckDB's memory_limit): raise it in the store URL, e.g. ?memory_limit=1GB, and send again"), err)
}

// tsText is t as the text of a TIMESTAMP, to bind as $n::TIMESTAMP where
// a query compares it with a column row by row: the driver binds a
// time.Time as TIMESTAMP WITH TIME ZONE, and comparing that with a plain
// TIMESTAMP column casts the column on every row (several times slower).
func tsText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") }

// Checkpoint writes everything committed into the database file and empties
// the write-ahead log. DuckDB does it on its own when the log grows past a
// threshold, at whichever commit crosses it; benchmarks call it to charge
// each step its own share.
func (s *Store) Checkpoint(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// caller: Checkpoint
	_, err := s.db.ExecContext(ctx, `CHECKPOINT`)
	return err
}
