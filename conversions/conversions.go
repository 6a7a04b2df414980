// Package conversions writes goal reaches as the offline conversion files
// ad platforms import to bid on orders and payments: Metrica's offline
// conversions CSV (by ClientId, or by Yclid for Yandex Direct's clicks),
// Google Ads' offline click conversions (by gclid) and VK Ads' offline
// events (by rb_clickid). The value of a conversion is the reach's
// revenue: the order's profit for the CRM goals.
//
// A conversion's identifier there (Metrica's Target, Google's
// Conversion Name, the VK pixel's event) is a site goal's own identifier,
// and for the CRM goals order_created, order_paid, order_cancelled and
// order_spam: the goals or conversion actions to create at the platform.
//
// VK Ads takes offline events not as a file but as server-to-server calls
// of its pixel's event link, https://top-fwz1.mail.ru/tracker?id=PIXEL;
// e=RG%3AVALUE/EVENT with the click's rb_clickid=...: its file here is
// those links, one a line, to be requested (each with a GET) soon after
// the export, since the pixel counts an event when it is called. The
// parameters follow the pixel's own ';'-separated form.
package conversions

import (
	"bufio"
	"encoding/csv"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmlink/crmlink"
)

// Format is one platform's file.
type Format struct {
	Name, Title string
	// Ext and ContentType are the file's extension and media type.
	Ext, ContentType string
	// Pixel tells that the file needs Options.Pixel.
	Pixel  bool
	header []string
	// id is the identifier a row needs, from the conversion; "" skips it.
	id func(c *crmlink.Conversion) string
	// row gives a CSV file's row; line, a text file's line instead.
	row  func(w *Writer, c *crmlink.Conversion, id string) []string
	line func(w *Writer, c *crmlink.Conversion, id string) string
}

// Formats are the files, by name.
var Formats = []*Format{
	{Name: "metrica", Title: "Metrica offline conversions, by ClientId", Ext: "csv", ContentType: csvType,
		header: []string{"ClientId", "Target", "DateTime", "Price", "Currency"},
		id: func(c *crmlink.Conversion) string {
			if c.ClientID == 0 {
				return ""
			}
			return strconv.FormatUint(c.ClientID, 10)
		}, row: metricaRow},
	{Name: "metrica_yclid", Title: "Metrica offline conversions, by Yclid (Yandex Direct's clicks)", Ext: "csv", ContentType: csvType,
		header: []string{"Yclid", "Target", "DateTime", "Price", "Currency"},
		id:     clickID("yclid"), row: metricaRow},
	{Name: "google", Title: "Google Ads offline click conversions, by gclid", Ext: "csv", ContentType: csvType,
		header: []string{"Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"},
		id:     clickID("gclid"), row: googleRow},
	{Name: "vk", Title: "VK Ads offline events: the pixel's event links, by rb_clickid", Ext: "txt", ContentType: "text/plain; charset=utf-8",
		Pixel: true, id: clickID("rb_clickid"), line: vkLine},
}

const csvType = "text/csv; charset=utf-8"

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

// Options are what a file takes from its counter and the request.
type Options struct {
	Location *time.Location // times are written in it (Google's carry their offset)
	Currency string         // the values' currency
	Pixel    string         // VK Ads: the pixel's id (digits)
}

// Writer writes one format's file.
type Writer struct {
	f   *Format
	o   Options
	buf *bufio.Writer
	csv *csv.Writer
	// Rows counts the rows written; Skipped the conversions left out, as
	// their sessions have no identifier the format needs.
	Rows, Skipped int
}

// NewWriter starts a file of format f on w.
func NewWriter(w io.Writer, f *Format, o Options) *Writer {
	b := bufio.NewWriterSize(w, 64<<10)
	wr := &Writer{f: f, o: o, buf: b, csv: csv.NewWriter(b)}
	if f.header != nil {
		wr.csv.Write(f.header)
	}
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
	if w.f.line != nil {
		_, err := w.buf.WriteString(w.f.line(w, c, id) + "\n")
		return err
	}
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
	return []string{id, Target(c), strconv.FormatInt(c.Time.Unix(), 10), c.Value.String(), w.o.Currency}
}

// googleRow: the gclid, the conversion action's name, the time with its
// offset (yyyy-mm-dd hh:mm:ss+hh:mm), the value and its currency.
func googleRow(w *Writer, c *crmlink.Conversion, id string) []string {
	return []string{id, Target(c), c.Time.In(w.o.Location).Format("2006-01-02 15:04:05-07:00"), c.Value.String(), w.o.Currency}
}

// vkLine: the pixel's event link, its value and event name escaped as a
// path's parts, and the click id as the pixel's parameter.
func vkLine(w *Writer, c *crmlink.Conversion, id string) string {
	return "https://top-fwz1.mail.ru/tracker?id=" + w.o.Pixel + ";e=RG%3A" + url.PathEscape(c.Value.String()) + "/" +
		url.PathEscape(Target(c)) + ";rb_clickid=" + url.QueryEscape(id)
}
