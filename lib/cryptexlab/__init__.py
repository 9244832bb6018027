"""cryptexlab."""
