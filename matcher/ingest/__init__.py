"""Getting firms in: reading sheets, columns, regions, row rules and import reports."""
