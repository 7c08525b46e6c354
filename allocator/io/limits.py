"""Hard limits on input size, so a hostile or broken file fails fast and clearly."""

#: Largest YAML or JSON document we parse, in bytes. Large tables belong in CSV.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: Largest CSV or XLSX table, in bytes.
MAX_TABLE_BYTES = 200 * 1024 * 1024
#: Largest number of YAML nodes after expanding aliases (guards against "billion laughs").
MAX_YAML_NODES = 1_000_000
#: Deepest nesting accepted in a YAML or JSON document.
MAX_NESTING = 200
#: Most bytes an XLSX workbook may unpack to, all parts together (a 1.5 MB zip bomb can claim 1 GiB).
#: A 250,000-row bounds table, national scale, unpacks to about 40 MB; larger tables belong in CSV.
MAX_XLSX_UNPACKED_BYTES = 100 * 1024 * 1024
#: Most parts (files inside the zip) of one XLSX workbook.
MAX_XLSX_PARTS = 10_000
#: Widest table header accepted, in columns.
MAX_TABLE_COLUMNS = 1_000
#: Most rows in one table.
MAX_TABLE_ROWS = 2_000_000
#: Deepest area tree accepted (real ones have 2 to 5 levels).
MAX_TREE_DEPTH = 100
#: Largest magnitude of any number in an instance or model (populations, posts, indicators).
MAX_NUMBER = 1e12
