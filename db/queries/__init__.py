"""Read queries: aggregate in SQL, return DataFrames."""
