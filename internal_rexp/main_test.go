package rexp

import (
	"database/sql"
	"os"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestQ(t *testing.T) {
	db, err := sql.Open("duckdb", "/tmp/lb10r.db?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{os.Getenv("Q1"), os.Getenv("Q2"), os.Getenv("Q3"), os.Getenv("Q4")} {
		if q == "" {
			continue
		}
		for i := 0; i < 2; i++ {
			t0 := time.Now()
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			n := 0
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				if n < 5 && i == 1 {
					t.Log(vals...)
				}
				n++
			}
			rows.Close()
			t.Logf("%d rows in %v", n, time.Since(t0))
		}
	}
}
