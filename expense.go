package crmlink

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Expense entities: an expenses upload, and a file or request naming
// expenses to delete (Metrica's EXPENSES and REMOVES).
const (
	EntityExpenses       UploadEntity = "expenses"
	EntityExpenseRemoves UploadEntity = "expense_removes"
)

// MaxExpenseDays bounds the days one expense row spreads over.
const MaxExpenseDays = 366

// Expense is one row of an expenses upload (SPEC.md §8): what was spent
// on a source over a day or a range of days, which the store spreads
// evenly over them; or, in a file of expenses to delete, which stored
// days to delete (the fields left empty match any value).
type Expense struct {
	Line int
	// From and To are the first and last day, inclusive (dates as
	// midnight UTC); equal for one day.
	From, To            time.Time
	UTMSource           string
	TrafficSource       string // a source kind id (ad, organic, ...)
	TrafficSourceDetail string // the source within its kind: an ad system, a search engine, ...
	UTMMedium           string
	UTMCampaign         string
	UTMTerm             string
	UTMContent          string
	Currency            string // ISO 4217; "" for the counter's
	Clicks              int64
	Expenses            decimal.Decimal
}

// ExpenseReader yields the rows of an expenses upload; see SessionReader
// for the contract of Next.
type ExpenseReader interface {
	Next(e *Expense) error
}

// ExpenseDay is one day of spend as the store keeps it: an expense row
// spread over its days, each day with its share (the shares add up to the
// row's amount exactly, the first days taking the odd hundredths of a
// kopeck, and likewise the clicks).
type ExpenseDay struct {
	UploadID            string
	Line                int
	Provider            string
	Day                 time.Time
	UTMSource           string
	TrafficSource       string
	TrafficSourceDetail string
	UTMMedium           string
	UTMCampaign         string
	UTMTerm             string
	UTMContent          string
	Currency            string
	Clicks              int64
	Expenses            decimal.Decimal
}

// ExpenseUpload is what Metrica's expense calls say of an upload besides
// the common record: who sent it (provider) and why (comment), and for a
// delete, how many stored days it removed.
type ExpenseUpload struct {
	Provider string
	Comment  string
	Removed  int64
}

// ExpenseStore keeps a counter's ad spend.
type ExpenseStore interface {
	// UploadExpenses stores the reader's expenses, each spread over its
	// days, in one transaction, and records up (its Entity EntityExpenses)
	// with x, as the other uploads do.
	UploadExpenses(ctx context.Context, up *Upload, x *ExpenseUpload, r ExpenseReader) error
	// DeleteExpenses deletes the stored days each of the reader's rows
	// names (its days, and every field it sets; of x.Provider's uploads
	// only, when set) in one transaction, and records up (its Entity
	// EntityExpenseRemoves) with x, x.Removed counting the days deleted.
	DeleteExpenses(ctx context.Context, up *Upload, x *ExpenseUpload, r ExpenseReader) error
	// ExpenseUploadInfo returns what the expense calls say of an upload.
	ExpenseUploadInfo(ctx context.Context, counter CounterID, uploadID string) (*ExpenseUpload, error)
	// ExpenseDays lists a counter's stored days of spend in [from, to]
	// (dates), by day, upload and line.
	ExpenseDays(ctx context.Context, counter CounterID, from, to time.Time) ([]ExpenseDay, error)
}
