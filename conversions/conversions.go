// Package conversions writes goal reaches as the offline conversion files
// ad platforms import to bid on orders and payments: Metrica's offline
// conversions CSV (by ClientId, or by Yclid for Yandex Direct's clicks)
// and Google Ads' offline click conversions (by gclid). The value of a
// conversion is the reach's revenue: the order's profit for the CRM
// goals.
//
// A conversion's identifier there (Metrica's Target, Google's
// Conversion Name) is a site goal's own identifier, and for the CRM goals
// order_created, order_paid, order_cancelled and order_spam: the goals or
// conversion actions to create at the platform.
package conversions

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// Format is one platform's file.
type Format struct {
	Name, Title string
	header      []string
	// id is the identifier a row needs, from the conversion; "" skips it.
	id  func(c *crmlink.Conversion) string
	row func(w *Writer, c *crmlink.Conversion, id string) []string
}

// Formats are the files, by name.
var Formats = []*Format{
	{Name: "metrica", Title: "Metrica offline conversions, by ClientId",
		header: []string{"ClientId", "Target", "DateTime", "Price", "Currency"},
		id: func(c *crmlink.Conversion) string {
			if c.ClientID == 0 {
				return ""
			}
			return strconv.FormatUint(c.ClientID, 10)
		}, row: metricaRow},
	{Name: "metrica_yclid", Title: "Metrica offline conversions, by Yclid (Yandex Direct's clicks)",
		header: []string{"Yclid", "Target", "DateTime", "Price", "Currency"},
		id:     clickID("yclid"), row: metricaRow},
	{Name: "google", Title: "Google Ads offline click conversions, by gclid",
		header: []string{"Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"},
		id:     clickID("gclid"), row: googleRow},
}

// Lookup returns the format of a name, or nil.
func Lookup(name string) *Format {
	for _, f := range Formats {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Names lists the formats' names.
func Names() []string {
	var out []string
	for _, f := range Formats {
		out = append(out, f.Name)
	}
	return out
}

// clickID reads the session's click id of one ad system.
func clickID(param string) func(c *crmlink.Conversion) string {
	return func(c *crmlink.Conversion) string {
		v, ok := strings.CutPrefix(c.ClickID, param+"=")
		if !ok {
			return ""
		}
		return v
	}
}

// Target is a conversion's identifier at the platform.
func Target(c *crmlink.Conversion) string {
	if c.CRM {
		return "order_" + c.GoalKey
	}
	return c.GoalKey
}

// Writer writes one format's file.
type Writer struct {
	f        *Format
	loc      *time.Location
	currency string
	buf      *bufio.Writer
	csv      *csv.Writer
	// Rows counts the rows written; Skipped the conversions left out, as
	// their sessions have no identifier the format needs.
	Rows, Skipped int
}

// NewWriter starts a file of format f on w: times in loc (Google's
// carry their offset), values in currency.
func NewWriter(w io.Writer, f *Format, loc *time.Location, currency string) *Writer {
	b := bufio.NewWriterSize(w, 64<<10)
	wr := &Writer{f: f, loc: loc, currency: currency, buf: b, csv: csv.NewWriter(b)}
	wr.csv.Write(f.header)
	return wr
}

// Write adds a conversion, or counts it skipped.
func (w *Writer) Write(c *crmlink.Conversion) error {
	id := w.f.id(c)
	if id == "" {
		w.Skipped++
		return nil
	}
	w.Rows++
	return w.csv.Write(w.f.row(w, c, id))
}

// Close flushes the file.
func (w *Writer) Close() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// metricaRow: the identifier, the goal's, Unix seconds (UTC), the value
// and its currency.
func metricaRow(w *Writer, c *crmlink.Conversion, id string) []string {
	return []string{id, Target(c), strconv.FormatInt(c.Time.Unix(), 10), c.Value.String(), w.currency}
}

// googleRow: the gclid, the conversion action's name, the time with its
// offset (yyyy-mm-dd hh:mm:ss+hh:mm), the value and its currency.
func googleRow(w *Writer, c *crmlink.Conversion, id string) []string {
	return []string{id, Target(c), c.Time.In(w.loc).Format("2006-01-02 15:04:05-07:00"), c.Value.String(), w.currency}
}
