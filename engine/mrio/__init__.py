"""MRIO tables and formats, the Leontief solve and its cache, concordance, consumers, and the
link from inventory rows to coefficient rows."""
