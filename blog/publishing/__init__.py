"""Posts in and out: the importer, the exporter, the console's editor, cover images, tags and
old addresses."""
