package msi

// Transforms (.mst) and their application to a package's tables.
//
// A transform is a compound file laid out like a database: its own string pool
// (!_StringPool, !_StringData) and one stream per table it changes. Microsoft publishes no
// specification of the table streams; this reader follows the behaviour of Wine's msi.dll
// (dlls/msi/table.c, msi_table_apply_transform and table_load_transform), which is also the
// oracle its tests are held to. A table stream is a sequence of row records, each a 16-bit
// mask followed by the cells it names, in column order and at their stored widths (string
// references as wide as the transform's own pool says, 2 bytes for a stream column, 2 or 4
// for integers):
//
//   - mask bit 0 set: the first mask>>8 columns are present (a row added or replaced whole);
//   - mask 0: only the key columns are present and the row with those keys is deleted;
//   - otherwise the key columns and every column i whose bit 1<<i is set (a row changed).
//
// Rows are matched on their key columns. _Tables and _Columns are applied first, so a
// transform can add tables and columns (a _Columns row with a null Number takes the next
// number of its table). A stream column's value is the stream "<table>.<key>..." of the
// transform (or, failing that, of the package); the transform's streams other than its
// tables (Binary data, embedded cabinets) are added to the package's, replacing any of one
// name, as msi.dll copies them into the database.
//
// Deviations, all documented choices: the validation and error-condition flags of the
// transform's summary information are not checked (the transform is applied whatever product
// it names; Windows may refuse it, rollgate judges the tables it would give); deleting a row
// that does not exist is ignored (Windows reports it, Wine inserts the keys as a row); a mask
// naming a column the table lacks, a stream changing a table neither the package nor the
// transform defines, and a _Columns change to an existing column, are errors rather than
// skipped as msi.dll skips them: what a transform changes is never silently dropped.

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/rollgate/rollgate/unpack"
	"github.com/rollgate/rollgate/unpack/cfb"
)

// Limits of transforms.
const (
	// MaxTransformBytes bounds the table streams of one transform read together.
	MaxTransformBytes = 64 << 20
	// MaxTransformRows bounds the row records of one transform.
	MaxTransformRows = 1 << 20
	// MaxColumns bounds the columns of a table a transform adds or extends (Windows
	// Installer's own limit is 32).
	MaxColumns = 32
	// MaxMaskColumns is how many columns a row record's 16-bit mask can name.
	maxMaskColumns = 16
)

// Transform is an open MSI transform: a .mst file, or one transform substorage of a patch.
type Transform struct {
	// Name is how errors and notes name the transform (a file or substorage name).
	Name    string
	Summary Summary

	db     *Package          // the transform's own streams and string pool
	tables map[string][]byte // table name → stream bytes
}

// OpenTransform reads the transform held by r (size bytes); name is how errors name it.
func OpenTransform(r io.ReaderAt, size int64, name string) (*Transform, error) {
	c, err := cfb.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	return readTransform(c, c.Root().Children, name)
}

// readTransform reads a transform from the entries of a storage of c (the root of a .mst,
// a substorage of an .msp).
func readTransform(c *cfb.Reader, children []*cfb.Entry, name string) (*Transform, error) {
	db := &Package{CFB: c, streams: map[string]*cfb.Entry{}, tables: map[string]*Table{}, errEntry: name + ":"}
	if err := db.indexStreams(children); err != nil {
		return nil, err
	}
	t := &Transform{Name: name, db: db, tables: map[string][]byte{}}
	if _, ok := db.streams[streamSummary]; ok {
		b, err := db.readStream(streamSummary, MaxSummaryBytes)
		if err != nil {
			return nil, err
		}
		if err := db.parseSummary(b); err != nil {
			return nil, err
		}
		t.Summary = db.Summary
	}
	if _, ok := db.streams[streamStringPool]; !ok {
		return nil, db.formatErr(streamStringPool, -1, "missing: not a transform")
	}
	if err := db.loadStringPool(); err != nil {
		return nil, err
	}
	total := int64(0)
	for _, n := range db.Streams() {
		if !strings.HasPrefix(n, "!") || n == streamStringPool || n == streamStringData {
			continue
		}
		total += db.streams[n].Size
		if total > MaxTransformBytes {
			return nil, db.limitErr(n, "table streams exceed %d bytes", MaxTransformBytes)
		}
		b, err := db.readStream(n, MaxTableBytes)
		if err != nil {
			return nil, err
		}
		t.tables[n[1:]] = b
	}
	return t, nil
}

// Tables lists the tables the transform changes, sorted.
func (t *Transform) Tables() []string {
	out := make([]string, 0, len(t.tables))
	for n := range t.tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Applied lists the names of the transforms applied to the package, in order.
func (p *Package) Applied() []string { return append([]string(nil), p.applied...) }

// record is one decoded row record of a transform table stream.
type record struct {
	mask    uint16
	present []bool
	vals    []Value
	off     int64 // of the mask in the stream
}

// cellWidth is a column's width in a transform: a string reference is as wide as the
// transform's pool says.
func cellWidth(c ColumnType, refBytes int) int {
	switch {
	case c.IsBinary():
		return 2
	case c&colString != 0:
		return refBytes
	case c&0xff <= 2:
		return 2
	}
	return 4
}

// records decodes the row records of the transform's stream for table, whose columns are
// cols, calling fn for each; rows counts records against MaxTransformRows.
func (t *Transform) records(p *Package, table string, cols []Column, rows *int, fn func(record) error) error {
	data := t.tables[table]
	stream := "!" + table
	db := t.db
	if len(cols) == 0 {
		if len(data) != 0 {
			return db.formatErr(stream, 0, "changes table %q, which has no columns", table)
		}
		return nil
	}
	refBytes := db.pool.refBytes
	for n := 0; n < len(data); {
		if *rows++; *rows > MaxTransformRows {
			return db.limitErr(stream, "more than %d row records", MaxTransformRows)
		}
		if len(data)-n < 2 {
			return db.formatErr(stream, int64(n), "row record truncated in its mask")
		}
		rec := record{mask: uint16(data[n]) | uint16(data[n+1])<<8, off: int64(n),
			present: make([]bool, len(cols)), vals: make([]Value, len(cols))}
		if rec.mask&1 != 0 {
			num := int(rec.mask >> 8)
			if num > len(cols) {
				return db.formatErr(stream, int64(n), "mask 0x%04x names %d columns of a %d-column table", rec.mask, num, len(cols))
			}
			for i := 0; i < num; i++ {
				rec.present[i] = true
			}
		} else {
			for i := range cols {
				rec.present[i] = cols[i].Type.Key() || i < maxMaskColumns && rec.mask&(1<<i) != 0
			}
			if len(cols) < maxMaskColumns && rec.mask>>len(cols) != 0 {
				return db.formatErr(stream, int64(n), "mask 0x%04x names a column past the table's %d", rec.mask, len(cols))
			}
		}
		off := n + 2
		for i, c := range cols {
			if !rec.present[i] {
				continue
			}
			w := cellWidth(c.Type, refBytes)
			if len(data)-off < w {
				return db.formatErr(stream, int64(off), "row record truncated in column %q", c.Name)
			}
			var raw uint32
			for k := 0; k < w; k++ {
				raw |= uint32(data[off+k]) << (8 * k)
			}
			switch {
			case c.Type.IsBinary():
				// Named by the keys, below.
			case c.Type&colString != 0:
				if raw != 0 {
					s, ok := db.pool.str(raw)
					if !ok {
						return db.formatErr(stream, int64(off), "column %q: string id %d out of range (%d strings)", c.Name, raw, len(db.pool.strings))
					}
					rec.vals[i] = s
				}
			case raw == 0:
			case w == 2:
				rec.vals[i] = int32(int16(uint16(raw) ^ 0x8000))
			default:
				rec.vals[i] = int32(raw ^ 0x80000000)
			}
			off += w
		}
		for i, c := range cols {
			if !rec.present[i] || !c.Type.IsBinary() {
				continue
			}
			sn := table
			for k, kc := range cols {
				if kc.Type.Key() {
					sn += "." + fmt.Sprint(rec.vals[k])
				}
			}
			if _, ok := db.streams[sn]; ok {
				rec.vals[i] = sn
			} else if _, ok := p.streams[sn]; ok {
				rec.vals[i] = sn
			}
		}
		if err := fn(rec); err != nil {
			return err
		}
		n = off
	}
	return nil
}

// rowKey is the identity of a row: its key columns' values.
func rowKey(cols []Column, vals []Value) string {
	var b strings.Builder
	for i, c := range cols {
		if !c.Type.Key() {
			continue
		}
		switch v := vals[i].(type) {
		case nil:
			b.WriteString("n;")
		case int32:
			b.WriteString("i" + strconv.Itoa(int(v)) + ";")
		case string:
			b.WriteString("s" + strconv.Itoa(len(v)) + ":" + v)
		}
	}
	return b.String()
}

// ApplyTransform applies t to the package's tables in memory, as msiexec does with
// TRANSFORMS= (or a patch's transforms), and lays the package out again: Files, Walk, the
// fs.FS and every table reader then give the transformed package. On error the package is
// left as it was before the call only where the error came before any change; callers
// should discard it.
func (p *Package) ApplyTransform(t *Transform) error {
	rows := 0
	if _, ok := t.tables["_Tables"]; ok {
		if err := p.applyTables(t, &rows); err != nil {
			return err
		}
	}
	if _, ok := t.tables["_Columns"]; ok {
		if err := p.applyColumns(t, &rows); err != nil {
			return err
		}
	}
	for _, name := range t.Tables() {
		if name == "_Tables" || name == "_Columns" {
			continue
		}
		if err := p.applyRows(t, name, &rows); err != nil {
			return err
		}
	}
	// The transform's other streams join the package's.
	if p.foreign == nil {
		p.foreign = map[*cfb.Entry]*cfb.Reader{}
	}
	for n, e := range t.db.streams {
		if strings.HasPrefix(n, "!") || knownStreams[n] {
			continue
		}
		p.streams[n] = e
		p.foreign[e] = t.db.CFB
	}
	sort.Strings(p.tableNames)
	p.applied = append(p.applied, t.Name)
	return p.buildLayout()
}

// ensureTable reports whether the package defines the table; a standalone patch's empty
// database takes a standard table's columns the first time a transform names it.
func (p *Package) ensureTable(name string) bool {
	if _, ok := p.schema[name]; ok {
		return true
	}
	cols, ok := stdSchema[name]
	if !ok || !p.standalone {
		return false
	}
	p.schema[name] = cols
	p.tableNames = append(p.tableNames, name)
	p.tables[name] = &Table{Name: name, Columns: cols}
	return true
}

// applyTables adds and drops tables.
func (p *Package) applyTables(t *Transform, rows *int) error {
	return t.records(p, "_Tables", tablesColumns, rows, func(r record) error {
		name, _ := r.vals[0].(string)
		if name == "" {
			return t.db.formatErr("!_Tables", r.off, "row record with a null table name")
		}
		_, exists := p.schema[name]
		switch {
		case r.mask == 0 && exists:
			delete(p.schema, name)
			delete(p.tables, name)
			for i, n := range p.tableNames {
				if n == name {
					p.tableNames = append(p.tableNames[:i], p.tableNames[i+1:]...)
					break
				}
			}
		case r.mask == 0 && !exists && p.standalone:
			p.unplace("_Tables/%s: dropped from the target", name)
		case r.mask != 0 && !exists:
			if len(p.tableNames) >= MaxTableRows {
				return t.db.limitErr("!_Tables", "more than %d tables", MaxTableRows)
			}
			p.schema[name] = []Column{}
			p.tableNames = append(p.tableNames, name)
			p.tables[name] = &Table{Name: name, Columns: []Column{}}
		}
		return nil
	})
}

// applyColumns adds columns to tables.
func (p *Package) applyColumns(t *Transform, rows *int) error {
	var run string
	var next int32
	return t.records(p, "_Columns", columnsColumns, rows, func(r record) error {
		table, _ := r.vals[0].(string)
		num, numOK := r.vals[1].(int32)
		name, _ := r.vals[2].(string)
		typ, typOK := r.vals[3].(int32)
		if !numOK {
			// A null Number takes the next number of its table (as msi.dll writes them).
			if table != run {
				run, next = table, 0
			}
			next++
			num, numOK = next, true
		}
		exists := p.ensureTable(table)
		if !exists && p.standalone {
			p.unplace("_Columns/%s/%d: a column of a table only the target defines", table, num)
			return nil
		}
		cols := p.schema[table]
		if r.mask == 0 {
			if !exists {
				return nil // the column of a dropped table
			}
			return &unpack.FormatError{Format: "msi", Entry: t.Name + ":!_Columns", Offset: r.off, Err: unpack.ErrUnsupported,
				Msg: fmt.Sprintf("deletes column %d of table %q, which stays", num, table)}
		}
		if !exists {
			return t.db.formatErr("!_Columns", r.off, "adds a column to table %q, which does not exist", table)
		}
		if name == "" || !typOK {
			return t.db.formatErr("!_Columns", r.off, "table %q: column %d without a name or type", table, num)
		}
		col := Column{Name: name, Type: ColumnType(uint16(typ))}
		switch {
		case int(num) >= 1 && int(num) <= len(cols):
			if cols[num-1] != col {
				return &unpack.FormatError{Format: "msi", Entry: t.Name + ":!_Columns", Offset: r.off, Err: unpack.ErrUnsupported,
					Msg: fmt.Sprintf("changes column %d of table %q", num, table)}
			}
			return nil
		case int(num) != len(cols)+1:
			return t.db.formatErr("!_Columns", r.off, "table %q: column number %d, want %d", table, num, len(cols)+1)
		case len(cols)+1 > MaxColumns:
			return t.db.limitErr("!_Columns", "table %q: more than %d columns", table, MaxColumns)
		}
		// Decode the table with its old columns before widening it.
		tab, err := p.Table(table)
		if err != nil {
			return err
		}
		if len(tab.Rows)*(len(cols)+1) > MaxTableCells {
			return t.db.limitErr("!_Columns", "table %q: %d cells exceed the limit of %d", table, len(tab.Rows)*(len(cols)+1), MaxTableCells)
		}
		cols = append(cols[:len(cols):len(cols)], col)
		p.schema[table] = cols
		tab.Columns = cols
		for i := range tab.Rows {
			tab.Rows[i] = append(tab.Rows[i][:len(tab.Rows[i]):len(tab.Rows[i])], nil)
		}
		return nil
	})
}

// applyRows applies the transform's stream for one table.
func (p *Package) applyRows(t *Transform, name string, rows *int) error {
	if !p.ensureTable(name) && p.standalone {
		p.unplace("%s: %d bytes of row changes to a table only the target defines", name, len(t.tables[name]))
		return nil
	}
	cols, ok := p.schema[name]
	if !ok {
		return t.db.formatErr("!"+name, -1, "changes table %q, which neither the package nor the transform defines", name)
	}
	tab, err := p.Table(name)
	if err != nil {
		return err
	}
	out := &Table{Name: name, Columns: cols, Rows: append([][]Value(nil), tab.Rows...)}
	index := make(map[string]int, len(out.Rows))
	for i, r := range out.Rows {
		index[rowKey(cols, r)] = i
	}
	live := len(out.Rows)
	err = t.records(p, name, cols, rows, func(r record) error {
		k := rowKey(cols, r.vals)
		i, found := index[k]
		switch {
		case !found && r.mask&1 == 0 && p.standalone:
			if r.mask == 0 {
				p.unplace("%s/%s: deleted from the target", name, keyText(cols, r.vals))
			} else {
				var changed []string
				for c := range cols {
					if r.present[c] && !cols[c].Type.Key() {
						changed = append(changed, fmt.Sprintf("%s=%v", cols[c].Name, r.vals[c]))
					}
				}
				p.unplace("%s/%s: the target's row changed: %s", name, keyText(cols, r.vals), strings.Join(changed, ", "))
			}
		case r.mask == 0:
			if found {
				out.Rows[i] = nil
				delete(index, k)
				live--
			}
		case !found:
			if (live+1)*len(cols) > MaxTableCells {
				return t.db.limitErr("!"+name, "%d cells exceed the limit of %d", (live+1)*len(cols), MaxTableCells)
			}
			index[k] = len(out.Rows)
			out.Rows = append(out.Rows, r.vals)
			live++
		case r.mask&1 != 0:
			out.Rows[i] = r.vals
		default:
			row := append([]Value(nil), out.Rows[i]...)
			for c := range cols {
				if r.present[c] && !cols[c].Type.Key() {
					row[c] = r.vals[c]
				}
			}
			out.Rows[i] = row
		}
		return nil
	})
	if err != nil {
		return err
	}
	kept := out.Rows[:0]
	for _, r := range out.Rows {
		if r != nil {
			kept = append(kept, r)
		}
	}
	out.Rows = kept
	p.tables[name] = out
	return nil
}
