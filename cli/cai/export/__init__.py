"""`cai export`: a finished `cai revise` output (any --format) as Parquet files or a `datasets` folder."""
