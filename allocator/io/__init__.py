"""Step 1 of the pipeline: read the user's files into plain Python data.

Nothing here knows what an instance or a model is; it only reads YAML, JSON,
CSV and XLSX safely and remembers where every value came from, so that later
steps can point at the exact row of a spreadsheet.
"""

from allocator.io.documents import Document, read_document
from allocator.io.tables import Table, TableRow, read_table, read_table_file

__all__ = ["Document", "read_document", "Table", "TableRow", "read_table", "read_table_file"]
