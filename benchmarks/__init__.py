"""s3pump benchmark suite: see README.md; run with scripts/bench."""
