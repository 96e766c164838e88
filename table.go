package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/internal/safetext"
)

// table prints rows in aligned columns for people; --json output is for
// scripts. It measures display width, so that columns after Chinese text
// stay aligned (text/tabwriter counts runes, and a CJK character takes
// two terminal cells). Cells come from the server and get safetext.Cell:
// they must not drive the terminal.
type table struct {
	header []string
	rows   [][]string
}

func newTable(header ...string) *table { return &table{header: header} }

func (t *table) add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = safetext.Cell(c)
	}
	t.rows = append(t.rows, row)
}

// write prints the header (if any) and the rows, columns two spaces apart,
// without trailing spaces.
func (t *table) write(w io.Writer) error {
	all := t.rows
	if len(t.header) > 0 {
		all = append([][]string{t.header}, t.rows...)
	}
	var widths []int
	for _, row := range all {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], safetext.Width(c))
		}
	}
	var b strings.Builder
	for _, row := range all {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-safetext.Width(c)))
			}
		}
		trimTrailingSpaces(&b)
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// trimTrailingSpaces drops the padding after an empty last cell.
func trimTrailingSpaces(b *strings.Builder) {
	s := b.String()
	if t := strings.TrimRight(s, " "); len(t) != len(s) {
		b.Reset()
		b.WriteString(t)
	}
}

// writeJSON prints v as indented JSON for scripts, without HTML escaping
// (addresses keep their "<" and ">"), with safetext's rule for JSON: server
// text that could drive a terminal is \u-escaped, never changed.
func writeJSON(w io.Writer, v any) error {
	return encodeJSON(w, v, "  ")
}

// encodeJSON is writeJSON with an indent ("" for one line per value).
func encodeJSON(w io.Writer, v any, indent string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", indent)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(safetext.JSON(b.Bytes()))
	return err
}
