package http

// RuText is the Russian catalog, for the pages' tests.
func RuText() map[string]string { return ruText }

// SetPaybackChartRows sets the most rows the Ad payback chart reads, and
// returns what puts it back.
func SetPaybackChartRows(n int) (restore func()) {
	old := paybackChartRows
	paybackChartRows = n
	return func() { paybackChartRows = old }
}
