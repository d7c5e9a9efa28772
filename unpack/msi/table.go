package msi

import (
	"fmt"
	"sort"
	"strconv"
)

// ColumnType is a column's type word as stored in !_Columns.
type ColumnType uint16

// Column type bits (Windows Installer SDK msiquery.h / Wine msipriv.h).
const (
	colValid       ColumnType = 0x0100
	colLocalizable ColumnType = 0x0200
	colString      ColumnType = 0x0800
	colNullable    ColumnType = 0x1000
	colKey         ColumnType = 0x2000
	colTemporary   ColumnType = 0x4000
)

// IsString reports whether the column holds string pool references.
func (t ColumnType) IsString() bool { return t&colString != 0 && !t.IsBinary() }

// IsBinary reports whether the column names a stream (type "v0").
func (t ColumnType) IsBinary() bool { return t&^colNullable == colString|colValid }

// Nullable reports whether the column accepts NULL.
func (t ColumnType) Nullable() bool { return t&colNullable != 0 }

// Key reports whether the column is part of the primary key.
func (t ColumnType) Key() bool { return t&colKey != 0 }

// width is the column's stored width in bytes.
func (t ColumnType) width(refBytes int) int {
	switch {
	case t&colTemporary != 0:
		return 0
	case t.IsBinary():
		return 2
	case t&colString != 0:
		return refBytes
	case t&0xff <= 2:
		return 2
	}
	return 4
}

// String writes the type as msiinfo does: s72, S255, l255, i2, I4, v0.
func (t ColumnType) String() string {
	var c byte
	switch {
	case t.IsBinary():
		c = 'v'
	case t&colString != 0 && t&colLocalizable != 0:
		c = 'l'
	case t&colString != 0:
		c = 's'
	default:
		c = 'i'
	}
	if t.Nullable() {
		c -= 'a' - 'A'
	}
	n := int(t & 0xff)
	if t.IsBinary() {
		n = 0
	}
	return string(c) + strconv.Itoa(n)
}

// Column is one column of a table.
type Column struct {
	Name string
	Type ColumnType
}

// Value is one cell: nil for NULL, a string for string columns and the stream name (for
// example "Binary.MyDll") for binary columns, an int32 for integer columns.
type Value any

// Table is a decoded database table.
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]Value
}

// Index returns the position of the named column, or -1.
func (t *Table) Index(col string) int {
	for i, c := range t.Columns {
		if c.Name == col {
			return i
		}
	}
	return -1
}

// Str returns row's named string column, "" when NULL, missing or not a string.
func (t *Table) Str(row int, col string) string {
	i := t.Index(col)
	if i < 0 || row < 0 || row >= len(t.Rows) {
		return ""
	}
	s, _ := t.Rows[row][i].(string)
	return s
}

// Int returns row's named integer column; ok is false when NULL, missing or not an integer.
func (t *Table) Int(row int, col string) (v int32, ok bool) {
	i := t.Index(col)
	if i < 0 || row < 0 || row >= len(t.Rows) {
		return 0, false
	}
	v, ok = t.Rows[row][i].(int32)
	return v, ok
}

// Fixed column layouts of the two meta tables.
var (
	tablesColumns  = []Column{{"Name", colString | colKey | colValid | 64}}
	columnsColumns = []Column{
		{"Table", colString | colKey | colValid | 64},
		{"Number", colKey | colValid | 2},
		{"Name", colString | colValid | 64},
		{"Type", colValid | 2},
	}
)

// loadSchema reads !_Tables and !_Columns.
func (p *Package) loadSchema() error {
	tables, err := p.decodeTable("_Tables", tablesColumns)
	if err != nil {
		return err
	}
	cols, err := p.decodeTable("_Columns", columnsColumns)
	if err != nil {
		return err
	}
	p.schema = map[string][]Column{}
	known := map[string]bool{}
	for _, row := range tables.Rows {
		name, _ := row[0].(string)
		if name == "" || known[name] {
			continue
		}
		known[name] = true
		p.tableNames = append(p.tableNames, name)
	}
	type numbered struct {
		n int32
		c Column
	}
	byTable := map[string][]numbered{}
	for i, row := range cols.Rows {
		t, _ := row[0].(string)
		num, ok1 := row[1].(int32)
		name, _ := row[2].(string)
		typ, ok2 := row[3].(int32)
		if !ok1 || !ok2 || t == "" || name == "" {
			return p.formatErr("_Columns", -1, "row %d is incomplete", i)
		}
		byTable[t] = append(byTable[t], numbered{num, Column{name, ColumnType(uint16(typ))}})
	}
	for t, cs := range byTable {
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].n < cs[j].n })
		for i, c := range cs {
			if c.n != int32(i+1) {
				return p.formatErr("_Columns", -1, "table %q: column %q has number %d, want %d", t, c.c.Name, c.n, i+1)
			}
			p.schema[t] = append(p.schema[t], c.c)
		}
	}
	sort.Strings(p.tableNames)
	return nil
}

// Tables lists the database's tables, sorted.
func (p *Package) Tables() []string { return append([]string(nil), p.tableNames...) }

// Table decodes the named table. A table listed without a stream has no rows.
func (p *Package) Table(name string) (*Table, error) {
	if t, ok := p.tables[name]; ok {
		return t, nil
	}
	cols, ok := p.schema[name]
	if !ok {
		return nil, fmt.Errorf("msi: table %q: %w", name, errNoTable)
	}
	t, err := p.decodeTable(name, cols)
	if err != nil {
		return nil, err
	}
	p.tables[name] = t
	return t, nil
}

// hasTable reports whether the database defines the table.
func (p *Package) hasTable(name string) bool {
	_, ok := p.schema[name]
	return ok
}

// decodeTable reads a table's stream: column-major, each column's cells stored back to back
// with the column's width; the row count is the stream size over the row width.
func (p *Package) decodeTable(name string, cols []Column) (*Table, error) {
	t := &Table{Name: name, Columns: cols}
	stream := "!" + name
	if _, ok := p.streams[stream]; !ok {
		return t, nil
	}
	data, err := p.readStream(stream, MaxTableBytes)
	if err != nil {
		return nil, err
	}
	return p.decodeRows(name, cols, data)
}

// decodeRows decodes a table stream's bytes.
func (p *Package) decodeRows(name string, cols []Column, data []byte) (*Table, error) {
	t := &Table{Name: name, Columns: cols}
	stream := "!" + name
	rowWidth := 0
	for _, c := range cols {
		rowWidth += c.Type.width(p.pool.refBytes)
	}
	if rowWidth == 0 {
		if len(data) != 0 {
			return nil, p.formatErr(stream, 0, "%d bytes for a table without stored columns", len(data))
		}
		return t, nil
	}
	if len(data)%rowWidth != 0 {
		return nil, p.formatErr(stream, int64(len(data)), "size %d is not a multiple of the row width %d", len(data), rowWidth)
	}
	rows := len(data) / rowWidth
	if rows*len(cols) > MaxTableCells {
		return nil, p.limitErr(stream, "%d cells exceed the limit of %d", rows*len(cols), MaxTableCells)
	}
	t.Rows = make([][]Value, rows)
	cells := make([]Value, rows*len(cols))
	for r := range t.Rows {
		t.Rows[r] = cells[r*len(cols) : (r+1)*len(cols) : (r+1)*len(cols)]
	}
	base := 0
	var keys []int // key columns, for binary stream names
	for ci, c := range cols {
		if c.Type.Key() {
			keys = append(keys, ci)
		}
		w := c.Type.width(p.pool.refBytes)
		for r := 0; r < rows; r++ {
			off := base + r*w
			var raw uint32
			for k := 0; k < w; k++ {
				raw |= uint32(data[off+k]) << (8 * k)
			}
			switch {
			case w == 0 || c.Type.IsBinary():
				// Filled below from the key columns.
			case c.Type&colString != 0:
				if raw == 0 {
					continue
				}
				s, ok := p.pool.str(raw)
				if !ok {
					return nil, p.formatErr(stream, int64(off), "row %d column %q: string id %d out of range (%d strings)", r, c.Name, raw, len(p.pool.strings))
				}
				t.Rows[r][ci] = s
			case raw == 0:
				// NULL
			case w == 2:
				t.Rows[r][ci] = int32(int16(uint16(raw) ^ 0x8000))
			default:
				t.Rows[r][ci] = int32(raw ^ 0x80000000)
			}
		}
		base += rows * w
	}
	// A binary cell names the stream "<table>.<key1>.<key2>..." when that stream exists.
	for ci, c := range cols {
		if !c.Type.IsBinary() {
			continue
		}
		for r := range t.Rows {
			sn := name
			for _, k := range keys {
				sn += "." + fmt.Sprint(t.Rows[r][k])
			}
			if _, ok := p.streams[sn]; ok {
				t.Rows[r][ci] = sn
			}
		}
	}
	return t, nil
}
